import { Link } from 'react-router';

/** A copy row's first cells: the follower, the master's position or order it copies, and what it trades. */
export function CopyCells({
  copy,
  masterId,
}: {
  copy: { followerAccountId: string; masterAccountId: string; symbol: string; side: string };
  masterId: string;
}) {
  return (
    <>
      <td>
        <Link to={`/accounts/${encodeURIComponent(copy.followerAccountId)}`}>{copy.followerAccountId}</Link>
      </td>
      <td>
        {copy.masterAccountId} #{masterId}
      </td>
      <td>
        {copy.symbol} <span className={`side side-${copy.side}`}>{copy.side}</span>
      </td>
    </>
  );
}
