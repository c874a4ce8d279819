/** Who a command acts as in the audit log: `--by`, else the signed-in system user. */
export const cliActor = (by: string | undefined): string => by ?? `cli:${process.env['USER'] ?? 'operator'}`;
