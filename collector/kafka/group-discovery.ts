/**
 * Consumer-group discovery: which consumer group on the broker belongs to a Flink job, found from
 * the broker instead of configured. A Flink KafkaSource assigns its partitions itself (it never
 * joins the group) and commits its checkpointed offsets to the consumer group named by its
 * `group.id` when a checkpoint completes (`commit.offsets.on.checkpoint`), so the group is usually
 * Empty, with no members, and is recognised by its committed offsets instead: the candidates are the
 * groups whose committed offsets cover every topic-partition that the job's `KafkaSourceReader`
 * metrics name (`KafkaSourceReader.topic.<topic>.partition.<partition>.currentOffset`, tags `topic`
 * and `partition` in reporters).
 *
 * - one candidate → that group;
 * - several → the one whose committed topics are exactly the job's topics, if exactly one is; else
 *   ambiguous, and the configured mapping (job → group) decides;
 * - none → none (the job has not completed a checkpoint yet, does not commit offsets, or reads with
 *   a group whose offsets expired).
 *
 * {@link discoverConsumerGroup} is pure; {@link readBrokerGroups} reads the broker through kafkajs'
 * admin (Metadata for the topic list, ListGroups, DescribeGroups, OffsetFetch per group).
 */

import { kafkaPartitionsFromMetricIds, type FlinkKafkaBroker, type KafkaTopicPartition } from '../../platform/index.ts';

/** A topic-partition a job reads. */
export type JobTopicPartition = KafkaTopicPartition;

/** A consumer group on the broker with its committed offsets. */
export interface BrokerGroupOffsets {
  groupId: string;
  /** DescribeGroups state ('Empty', 'Stable', ...) when known. */
  state?: string;
  /** Number of members when known (0 for a Flink KafkaSource's group). */
  members?: number;
  /** Committed offsets; `offset` < 0 means none for that partition (kafkajs reports '-1'). */
  offsets: Array<{ topic: string; partition: number; offset: number }>;
}

/** A group whose committed offsets cover the job's topic-partitions. */
export interface GroupCandidate {
  groupId: string;
  state?: string;
  members?: number;
  /** True when the group's committed topics are exactly the job's topics (no other topic). */
  exact: boolean;
  /** Topics the group committed offsets for beyond the job's, sorted. */
  extraTopics: string[];
}

/** The outcome of {@link discoverConsumerGroup}. */
export type GroupDiscovery =
  | { kind: 'group'; group: string; candidate: GroupCandidate; reason: 'only-candidate' | 'only-exact-candidate' }
  | { kind: 'ambiguous'; candidates: GroupCandidate[] }
  | { kind: 'none'; reason: 'no-partitions' | 'no-group-covers' };

/**
 * Finds the job's consumer group among the broker's groups (rules in the file header). Pure.
 * Candidates in an ambiguous result are sorted: exact ones first, then by group id.
 * @param job the topic-partitions the job's KafkaSourceReader metrics name (duplicates allowed)
 * @param groups the broker's groups with their committed offsets
 */
export function discoverConsumerGroup(job: readonly JobTopicPartition[], groups: readonly BrokerGroupOffsets[]): GroupDiscovery {
  const wanted = new Set(job.map((tp) => `${tp.topic}\u0000${tp.partition}`));
  if (wanted.size === 0) return { kind: 'none', reason: 'no-partitions' };
  const jobTopics = new Set(job.map((tp) => tp.topic));
  const candidates: GroupCandidate[] = [];
  for (const g of groups) {
    const committed = new Set<string>();
    const topics = new Set<string>();
    for (const o of g.offsets) {
      if (!(o.offset >= 0)) continue;
      committed.add(`${o.topic}\u0000${o.partition}`);
      topics.add(o.topic);
    }
    if (![...wanted].every((k) => committed.has(k))) continue;
    const extraTopics = [...topics].filter((t) => !jobTopics.has(t)).sort();
    candidates.push({
      groupId: g.groupId,
      ...(g.state !== undefined ? { state: g.state } : {}),
      ...(g.members !== undefined ? { members: g.members } : {}),
      exact: extraTopics.length === 0,
      extraTopics,
    });
  }
  if (candidates.length === 0) return { kind: 'none', reason: 'no-group-covers' };
  if (candidates.length === 1) return { kind: 'group', group: candidates[0]!.groupId, candidate: candidates[0]!, reason: 'only-candidate' };
  const exact = candidates.filter((c) => c.exact);
  if (exact.length === 1) return { kind: 'group', group: exact[0]!.groupId, candidate: exact[0]!, reason: 'only-exact-candidate' };
  candidates.sort((a, b) => Number(b.exact) - Number(a.exact) || a.groupId.localeCompare(b.groupId));
  return { kind: 'ambiguous', candidates };
}

/**
 * The job's topic-partitions from Flink metric identifiers as the REST API lists them, e.g.
 * `0.Source__orders.KafkaSourceReader.topic.orders.partition.3.currentOffset` (a topic name may
 * contain dots). Identifiers of other metrics are ignored. (platform's `kafkaPartitionsFromMetricIds`.)
 */
export function jobPartitionsFromMetricIds(ids: readonly string[]): JobTopicPartition[] {
  return kafkaPartitionsFromMetricIds(ids);
}

/**
 * The part of kafkajs' `Admin` that {@link readBrokerGroups} uses; a connected kafkajs admin
 * satisfies it.
 */
export interface GroupDiscoveryAdmin {
  listTopics(): Promise<string[]>;
  listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string }> }>;
  describeGroups(groupIds: string[]): Promise<{ groups: Array<{ groupId: string; state: string; members: unknown[] }> }>;
  /** Committed offsets of `topics` (kafkajs 2.2.4 cannot ask for "all topics"); '-1' = none. */
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** Options of {@link readBrokerGroups}. */
export interface ReadBrokerGroupsOptions {
  /**
   * Topics whose committed offsets are read. Default: every topic of the cluster but the internal
   * ones (names starting with `__`), so that a candidate's `extraTopics` and `exact` are known.
   * With only the job's topics every candidate looks exact, and several candidates stay ambiguous.
   */
  topics?: string[];
}

/**
 * Every consumer group of the broker with its state, member count and committed offsets. Groups of
 * other protocol types (Connect, share groups) are left out; groups that only commit offsets
 * (protocol type '') are kept: a Flink KafkaSource's group is one.
 * @throws whatever kafkajs throws (the caller's poll loop decides whether to retry)
 */
export async function readBrokerGroups(admin: GroupDiscoveryAdmin, options: ReadBrokerGroupsOptions = {}): Promise<BrokerGroupOffsets[]> {
  const listed = (await admin.listGroups()).groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '');
  if (listed.length === 0) return [];
  const topics = options.topics ?? (await admin.listTopics()).filter((t) => !t.startsWith('__'));
  const described = new Map((await admin.describeGroups(listed.map((g) => g.groupId))).groups.map((g) => [g.groupId, g]));
  const out: BrokerGroupOffsets[] = [];
  for (const g of listed) {
    const offsets = topics.length === 0 ? [] : (await admin.fetchOffsets({ groupId: g.groupId, topics })).flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })),
    );
    const d = described.get(g.groupId);
    out.push({ groupId: g.groupId, ...(d ? { state: d.state, members: d.members.length } : {}), offsets });
  }
  return out;
}

/**
 * Reads the broker's groups and discovers the job's group ({@link readBrokerGroups} then
 * {@link discoverConsumerGroup}).
 */
export async function discoverConsumerGroupOnBroker(admin: GroupDiscoveryAdmin, job: readonly JobTopicPartition[], options: ReadBrokerGroupsOptions = {}): Promise<GroupDiscovery> {
  return discoverConsumerGroup(job, await readBrokerGroups(admin, options));
}

/** The admin calls {@link brokerFactsForFlink} makes: {@link GroupDiscoveryAdmin} and topic metadata. */
export interface FlinkBrokerAdmin extends GroupDiscoveryAdmin {
  fetchTopicMetadata(options: { topics: string[] }): Promise<{ topics: Array<{ name: string; partitions: unknown[] }> }>;
}

/**
 * The {@link FlinkKafkaBroker} the Flink catalog asks (platform/flink/catalog.ts): partition counts
 * from topic metadata, and the consumer group by {@link discoverConsumerGroupOnBroker} over every
 * group and topic of the cluster. `admin` must be connected (a kafkajs admin is).
 */
export function brokerFactsForFlink(admin: FlinkBrokerAdmin): FlinkKafkaBroker {
  return {
    async partitionCounts(topics) {
      const existing = new Set(await admin.listTopics());
      const known = topics.filter((t) => existing.has(t));
      if (known.length === 0) return {};
      const md = await admin.fetchTopicMetadata({ topics: known });
      return Object.fromEntries(md.topics.map((t) => [t.name, t.partitions.length]));
    },
    async discoverGroup(partitions) {
      const r = await discoverConsumerGroupOnBroker(admin, partitions);
      if (r.kind === 'group') return { kind: 'group', group: r.group };
      if (r.kind === 'ambiguous') return { kind: 'ambiguous', candidates: r.candidates.map((c) => c.groupId) };
      return { kind: 'none' };
    },
  };
}
