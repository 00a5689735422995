/**
 * Flink's key-group assignment (`KeyGroupRangeAssignment`): a key's murmur-hashed Java hashCode picks
 * one of max-parallelism key groups; subtask i of p owns the contiguous range of key groups
 * `[ceil(i·K/p), ceil((i+1)·K/p) − 1]`, and key group g belongs to subtask `floor(g·p/K)`. One
 * implementation, the bundled runtime's (`runtime/keygroups.ts`, the lowest layer that needs it),
 * offered here as the platform's Flink vocabulary for the stages above.
 */
export { DEFAULT_MAX_PARALLELISM, defaultMaxParallelism, javaHashCode, murmurHash, keyGroupOf, subtaskForKeyGroup, keyGroupRange } from '../../runtime/index.ts';
