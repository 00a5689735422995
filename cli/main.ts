/** The `streamtune` command line: one sub-command per module under cli/. */
import { Command, CommanderError } from 'commander';
import { runCommand } from './run.ts';
import { diagnoseCommand } from './diagnose.ts';

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const exit = (c: number) => {
    code = c;
  };
  const program = new Command('streamtune')
    .description('diagnostics and auto-tuning control plane for streaming jobs')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addCommand(runCommand(exit).exitOverride());
  program.addCommand(diagnoseCommand(exit).exitOverride());
  program
    .command('demo')
    .description('run the flight-delays job on the bundled runtime (npm start)')
    .action(async () => {
      const sub = runCommand(exit).exitOverride();
      await sub.parseAsync(['jobs/flight-delays.yaml', '--until-end'], { from: 'user' });
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return code;
}
