// Entry of a worker TaskManager thread: workers do not inherit the main thread's tsx hooks, so this
// plain module registers tsx and then loads the TypeScript worker (`worker.ts`).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
