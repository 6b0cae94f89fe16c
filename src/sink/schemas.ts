/**
 * The sink reads the registry through the one client in src/registry/ (the producer's too); these names
 * stay here for the sink's task, which imports them from this path.
 */
export { RegistryError, type SchemaReader as SinkSchemas, type WriterSchema } from '../registry/client.ts';
