/** Loads the Kafka source and sink when their module is present (they register their vertex types). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const kafkaModule = new URL('./kafka.ts', import.meta.url);
if (existsSync(fileURLToPath(kafkaModule))) await import(kafkaModule.href);
