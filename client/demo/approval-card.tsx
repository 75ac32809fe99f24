import { useEffect, useState } from 'react';
import { showHiddenCharacters, type ToolCall, type ToolResult } from '../index.js';
import { formatMs } from './format.js';

/** Seconds left before the server expires the approval; ticks while the card shows. */
function useSecondsLeft(expiresAt: number | undefined, active: boolean): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active || expiresAt === undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [active, expiresAt]);
  return expiresAt === undefined ? undefined : Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

export interface ApprovalCardProps {
  call: ToolCall;
  result: ToolResult | undefined;
  roundTripMs: number | undefined;
  id: (base: string) => string;
  onApprove(): void;
  onDeny(): void;
}

/**
 * A tool call that needs a person: the validated arguments, how long is left to decide, the
 * buttons; once decided, what happened and the tool's result with the round trip.
 */
export function ApprovalCard({ call, result, roundTripMs, id, onApprove, onDeny }: ApprovalCardProps) {
  const waiting = call.status === 'pending';
  const secondsLeft = useSecondsLeft(call.expiresAt, waiting);
  return (
    <div className={`approval approval-${call.status}`} data-testid={id('approval')} role={waiting ? 'alertdialog' : 'group'} aria-label="Tool approval">
      <p className="approval-title">
        {waiting ? 'The model wants to run ' : 'The model asked to run '}
        <code data-testid={id('tool-name')}>{call.name}</code>
        {waiting && secondsLeft !== undefined && (
          <span className="countdown" data-testid={id('expires-in')}>
            {' '}· expires in {secondsLeft} s
          </span>
        )}
      </p>
      {call.hiddenCharacters.length > 0 && (
        <p className="approval-warning" role="alert" data-testid={id('hidden-characters')}>
          The arguments hold characters you cannot see, shown as ⟦U+…⟧ below:{' '}
          {call.hiddenCharacters.map((h) => `${h.codePoints.join(' ')} at ${h.path || '/'}`).join('; ')}
        </p>
      )}
      {call.display !== undefined && (
        // The app's own card data (the tool's approval.display): shown as sent, above the raw arguments.
        <pre className="args display" data-testid={id('tool-display')}>{showHiddenCharacters(JSON.stringify(call.display, null, 2))}</pre>
      )}
      <pre className="args" data-testid={id('tool-args')}>{showHiddenCharacters(JSON.stringify(call.args, null, 2))}</pre>
      {waiting || call.status === 'approving' || call.status === 'denying' ? (
        <div className="row">
          <button type="button" className="primary" data-testid={id('approve')} onClick={onApprove} disabled={!waiting}>
            Approve
          </button>
          <button type="button" className="danger" data-testid={id('deny')} onClick={onDeny} disabled={!waiting}>
            Deny
          </button>
        </div>
      ) : (
        <div className="decided" data-testid={id('decision')}>
          <p className="approval-outcome">
            {call.status === 'approved' ? 'Approved' : call.status === 'denied' ? 'Denied' : call.status === 'expired' ? 'Expired: nobody decided in time' : call.status}
            {roundTripMs !== undefined && <> · round trip {formatMs(roundTripMs)}</>}
          </p>
          {result && (
            <pre className={`args result ${result.ok ? 'ok' : 'failed'}`} data-testid={id('tool-result')}>
              {JSON.stringify(result.ok ? result.result : result.error, null, 2)}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
