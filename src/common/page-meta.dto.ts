import { ApiProperty } from '@nestjs/swagger';

/** Fields every `/v1` list answers beside `data`. */
export class PageMetaDto {
  /** Rows matching the filters, across all pages. */
  @ApiProperty({ type: 'integer', example: 1 })
  total: number;

  /**
   * False when `total` is a lower bound: matches are counted up to 10,000 unless maintained counters answer the
   * filters (messages by session, conversation or phone are always exact).
   */
  @ApiProperty({ example: true })
  totalExact: boolean;

  @ApiProperty({ type: 'integer', example: 100 })
  limit: number;

  /** 0 when paging by cursor. */
  @ApiProperty({ type: 'integer', example: 0 })
  offset: number;

  @ApiProperty({ nullable: true, example: null, description: 'Pass as `cursor` for the next page; null on the last page' })
  nextCursor: string | null;
}
