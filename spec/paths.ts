/** Where the reference data lives in the repository (see spec/README.md); resolved from this file, so a clone works in any folder. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SPEC_DIR = dirname(fileURLToPath(import.meta.url));

export const OPENAPI_DIR = join(SPEC_DIR, 'pipedrive-openapi');
export const OPENAPI_V1_PATH = join(OPENAPI_DIR, 'pipedrive-v1.yml');
export const OPENAPI_V2_PATH = join(OPENAPI_DIR, 'pipedrive-v2.yml');
export const FIVETRAN_ERD_PATH = join(SPEC_DIR, 'fivetran', 'pipedrive-erd.json');
