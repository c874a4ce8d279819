/** Types of bench/lib/books.js for the e2e tests that compare pending-order books. */
interface BookOrder {
  ticket: string | null;
  symbol: string;
  side: string;
  orderType: string;
  volume: number;
  price: number;
}

export function orderBook(account: { orders: Map<string, BookOrder> }): string[];

export function orderCopyBook(copies: Array<BookOrder & { status: string }>): string[];

export function pendingBookProblems(
  id: string,
  account: { orders: Map<string, BookOrder> },
  copies: Array<BookOrder & { status: string; masterOrderId: string }>,
  masterLive: Set<string>,
): string[];
