/** Wire shapes every feature shares: list pages and the signed-in operator. */
import type { Role } from '@kopitra/contracts';

export type { Role };

/** Every list route answers one page and the cursor of the next (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface User {
  userId: string;
  email: string;
  displayName: string | null;
  role: Role;
  status: 'active' | 'disabled';
  createdAt: string;
  lastLoginAt: string | null;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: User;
}
