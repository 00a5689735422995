/** The `streamtune` command line. Each sub-command lives in its own module under cli/. */
export async function main(argv: string[]): Promise<number> {
  void argv;
  return 0;
}
