// The data source the TypeORM CLI uses (`npx typeorm migration:run -d dist/ormconfig.js`); the app builds the
// same options in src/database/data-source-options.ts.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { buildDataSourceOptions } from './src/database/data-source-options';

export default new DataSource(buildDataSourceOptions(loadConfig()));
