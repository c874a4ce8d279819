/**
 * Pending-order books as the soak and the seeded SDK run compare them: what a simulated
 * terminal holds against the copies the server keeps as pending (`GET /api/admin/pending-orders`),
 * each as one sorted line per order, so two books are equal when their lines are.
 */

const orderLine = (o) => `${o.ticket} ${o.symbol} ${o.side} ${o.orderType} ${o.volume} @ ${o.price}`;

/** The pending orders on a simulated account's book. */
export const orderBook = (account) => [...account.orders.values()].map(orderLine).sort();

/** The server's copies still pending (`status: "pending"`), as the follower should hold them. */
export const orderCopyBook = (copies) =>
  copies
    .filter((c) => c.status === 'pending')
    .map(orderLine)
    .sort();

/**
 * Where a follower's pending orders and the server's pending copies differ, and every pending
 * copy that stands for nothing the master still has (an order waiting, or the position a
 * master order became that a copy left waiting may still match): empty when they agree.
 */
export function pendingBookProblems(id, account, copies, masterLive) {
  const problems = [];
  const [book, expected] = [orderBook(account), orderCopyBook(copies)];
  if (JSON.stringify(book) !== JSON.stringify(expected))
    problems.push(`${id} pending orders: book ${book.join(' | ')} ≠ copies ${expected.join(' | ')}`);
  for (const c of copies)
    if (c.status === 'pending' && !masterLive.has(c.masterOrderId))
      problems.push(`${id} holds a pending copy of master order ${c.masterOrderId}, which is gone`);
  return problems;
}
