export {
  DEFAULT_SETTINGS,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type StartEmbeddedPostgresOptions,
} from './embedded-postgres.ts';
