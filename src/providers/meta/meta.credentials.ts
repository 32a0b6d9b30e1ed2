import { IsOptional, IsString, IsUrl, Matches, MaxLength } from 'class-validator';

/** Per-session Meta sending credentials over `META_ACCESS_TOKEN`, `META_GRAPH_BASE_URL`, `META_API_VERSION`. */
export class MetaCredentials {
  /** System-user or app access token (Graph API bearer token). */
  @IsOptional() @IsString() @MaxLength(2048) accessToken?: string;
  /** Graph API base, e.g. `https://graph.facebook.com`. */
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(500) graphBaseUrl?: string;
  /** Graph API version, e.g. `v21.0`. */
  @IsOptional() @Matches(/^v\d+\.\d+$/) apiVersion?: string;
}
