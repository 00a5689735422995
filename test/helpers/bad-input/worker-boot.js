// Entry of the worker thread that feeds one kind of bad input (run.ts): worker threads do not
// inherit the main thread's tsx hooks, so this plain module registers tsx, then loads worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
