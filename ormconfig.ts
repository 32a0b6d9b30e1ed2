// The data source the TypeORM CLI uses (`npm run migration:run|migration:revert|migration:show`, built first); the app builds the
// same options in src/database/data-source-options.ts.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { loadDotEnv } from './src/config/dotenv';
import { buildDataSourceOptions } from './src/database/data-source-options';

loadDotEnv(); // the same .env the server reads
export default new DataSource(buildDataSourceOptions(loadConfig()));
