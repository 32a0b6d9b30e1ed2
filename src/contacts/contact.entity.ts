import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A person we talk to, keyed by phone number in E.164 digits (no `+`). */
@Entity('contacts')
export class ContactEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** E.164 digits without `+`, e.g. `6281234567890`. */
  @Column({ type: 'varchar', length: 20, unique: true })
  phone: string;

  /** Name from the contact book (set by admins); wins over the profile name. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  name: string | null;

  /** Latest name the provider reported (Meta `profile.name`, Wablas `pushName`, wwebjs `notifyName`). */
  @Column({ name: 'profile_name', type: 'varchar', length: 200, nullable: true })
  profileName: string | null;

  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags: string[];

  @Column({ type: 'text', nullable: true })
  notes: string | null;

  /** Id of the contact in the integrator's own system. */
  @Column({ name: 'external_ref', type: 'varchar', length: 128, nullable: true })
  externalRef: string | null;

  /** WhatsApp privacy id (`<digits>@lid`) known to belong to this number. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  lid: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
