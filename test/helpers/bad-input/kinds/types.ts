/** The shape of one kind of bad input the reliability suite feeds to streamtune (see ../run.ts). */
import type fc from 'fast-check';
import type { Outcome } from '../clear.ts';

/** One kind: how its malformed inputs are made and what must happen to each. */
export interface BadInputKind<I, C = unknown> {
  /** e.g. 'job spec (YAML)' */
  title: string;
  /** what is fed and where, one line for RELIABILITY.md */
  fedTo: string;
  /** the malformed inputs */
  arbitrary: fc.Arbitrary<I>;
  /** once per run, before the first input (temp dirs, a real savepoint...) */
  setup?(): C | Promise<C>;
  /** once per run, after the last input */
  teardown?(ctx: C): void | Promise<void>;
  /** feeds one input and judges what happened */
  check(input: I, ctx: C): Outcome | Promise<Outcome>;
  /** the input, short, for reports */
  preview(input: I): string;
}
