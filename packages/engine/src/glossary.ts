/**
 * # Kopitra vocabulary
 *
 * These words mean exactly this everywhere: code, API, console and docs.
 *
 * - **account** — one MetaTrader trading account, identified by `accountId` (the EA's
 *   `X-TradeAgent-Account`). Has a platform (MT4/MT5), broker, server, currency, a status
 *   (`active` | `disabled`) and a session policy (`reject` | `takeover`).
 * - **key** — a secret an EA presents to open a session for its account. Pre-shared
 *   (issued by an operator, approved at birth) or EA-generated (`pending` until approved).
 *   Stored only as an HMAC; identified in public by its **fingerprint**.
 * - **session** — one terminal's connection to the gateway. `pending` until its key is
 *   approved, then `authenticated`; it ends `retired` (taken over), `terminated`
 *   (released or stopped by an operator), `rejected` (key rejected) or `expired` (lease lapsed).
 *   At most one session per account is **live** (pending or authenticated).
 * - **lease** — how long a session stays live without a request: 3 heartbeat intervals,
 *   renewed by every authenticated request.
 * - **master** — the account whose trades are copied; **follower** — an account that copies.
 * - **copy group** — one master and its followers; a follower's membership with its
 *   settings is a **subscription**.
 * - **signal** — one master trade event (open, modify, partial close, close).
 * - **copy order** — what one signal becomes for one follower: sized, mapped, with its own
 *   id and state (`queued → delivered → acknowledged → filled | rejected | failed | expired | skipped`).
 * - **outbox event** — a message queued for one account's EA, with a per-account
 *   **sequence** that is strictly increasing and never changes; it is replayed on every
 *   poll until the EA acknowledges it.
 * - **inbox event** — telemetry or an acknowledgement the EA sent to the gateway.
 */
export const GLOSSARY_VERSION = 1;
