/** The `streamtune` command line: one sub-command per module under cli/. */
import { Command, CommanderError } from 'commander';
import { runCommand } from './run.ts';
import { diagnoseCommand } from './diagnose.ts';
import { demoCommand, serveCommand } from './serve.ts';
import { produceFlightsCommand } from './produce-flights.ts';

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
  program.addCommand(serveCommand(exit).exitOverride());
  program.addCommand(demoCommand(exit).exitOverride());
  program.addCommand(produceFlightsCommand(exit).exitOverride());
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return code;
}
