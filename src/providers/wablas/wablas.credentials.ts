import { IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

/** Per-session Wablas sending credentials over `WABLAS_BASE_URL`, `WABLAS_TOKEN`, `WABLAS_SECRET_KEY`. */
export class WablasCredentials {
  /** The device's server, e.g. `https://tegal.wablas.com`. */
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(500) baseUrl?: string;
  /** Device token (sent as `Authorization: token` or `token.secretKey`). */
  @IsOptional() @IsString() @MaxLength(500) token?: string;
  @IsOptional() @IsString() @MaxLength(500) secretKey?: string;
}
