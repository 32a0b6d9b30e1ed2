import { ApiProperty, PartialType } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsEmail, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';
import { PageQueryDto } from '../common/page-query.dto';

export class CreateContactDto {
  /** Any common form: `+62 812-3456-7890`, `081234567890` (with DEFAULT_PHONE_REGION), `6281234567890@c.us`. */
  @IsString()
  @Length(3, 64)
  @ApiProperty({ example: '+62 812-3456-7890' })
  phone: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsOptional()
  @IsEmail()
  @MaxLength(254)
  email?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  tags?: string[];

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  notes?: string;

  /** Your own id for this contact. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  externalRef?: string;

  /** WhatsApp privacy id of this person (`211071956705386@lid`). */
  @IsOptional()
  @Matches(/^\d{5,30}@lid$/, { message: 'lid must look like <digits>@lid' })
  lid?: string;
}

export class UpdateContactDto extends PartialType(CreateContactDto) {}

export class ListContactsQueryDto extends PageQueryDto {
  /** Matches name (case- and accent-insensitive) or number. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}

export class ContactResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '6281234567890', description: 'E.164 digits' }) phone: string;
  @ApiProperty({ nullable: true, example: 'Budi Santoso', description: 'Contact book name' }) name: string | null;
  @ApiProperty({ nullable: true, example: 'Budi', description: 'Latest provider profile name' }) profileName: string | null;
  @ApiProperty({ example: 'Budi Santoso', description: 'Contact book name, else profile name, else "Unknown"' }) displayName: string;
  @ApiProperty({ nullable: true, example: 'budi@example.com' }) email: string | null;
  @ApiProperty({ type: [String], example: ['vip'] }) tags: string[];
  @ApiProperty({ nullable: true, example: null }) notes: string | null;
  @ApiProperty({ nullable: true, example: 'crm-1042' }) externalRef: string | null;
  @ApiProperty({ nullable: true, example: null }) lid: string | null;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) updatedAt: string;
}

export class ContactPageDto extends PageMetaDto {
  @ApiProperty({ type: [ContactResponseDto] }) data: ContactResponseDto[];
}

export class ImportRejectionDto {
  @ApiProperty({ type: 'integer', example: 3, description: 'CSV line (header is line 1) or JSON array index + 1' }) line: number;
  @ApiProperty({
    example: 'phone: not a valid phone number for libphonenumber-js (numbers without a country code are read as DEFAULT_PHONE_REGION=ID)',
  })
  reason: string;
}

export class ImportContactsResponseDto {
  @ApiProperty({ type: 'integer', example: 9998 }) created: number;
  @ApiProperty({ type: 'integer', example: 1 }) updated: number;
  @ApiProperty({ type: 'integer', example: 1 }) rejected: number;
  @ApiProperty({ type: [ImportRejectionDto] }) errors: ImportRejectionDto[];
}
