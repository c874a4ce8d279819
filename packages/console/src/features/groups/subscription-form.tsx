import { useState, type FormEvent } from 'react';
import type { SubscriptionSettings } from '@kopitra/contracts';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { usePutFollower } from './api';
import { RiskLimitsFields } from './risk-limits-fields';
import {
  SIZING_MODES,
  toForm,
  toSettings,
  type JoinMode,
  type NumberField,
  type SettingsForm,
} from './settings-codec';
import { SymbolMapFields } from './symbol-map-fields';
import { SymbolRulesFields } from './symbol-rules-fields';

const LIMITS: Array<[NumberField, string, string]> = [
  ['minVolume', 'Min lots per trade', 'no minimum'],
  ['maxVolume', 'Max lots per trade', 'no maximum'],
  ['maxOpenPositions', 'Max open positions', 'unlimited'],
  ['maxTotalLots', 'Max total lots', 'unlimited'],
  ['maxTradesPerHour', 'Max trades per hour', 'unlimited'],
  ['maxSignalAgeSec', 'Max signal age for opens, s', '60'],
  ['maxSlippagePoints', 'Max slippage, points', 'no limit'],
];

export interface SubscriptionFormProps {
  groupId: string;
  /** Editing this follower; unset adds a new one chosen from `candidates`. */
  accountId?: string;
  settings?: SubscriptionSettings;
  candidates?: string[];
  onDone(): void;
}

export function SubscriptionForm({
  groupId,
  accountId,
  settings,
  candidates = [],
  onDone,
}: SubscriptionFormProps) {
  const [f, setF] = useState<SettingsForm>(() => toForm(settings));
  const [follower, setFollower] = useState(accountId ?? '');
  const put = usePutFollower(groupId);
  const issues = issuesByPath(put.error);
  const set = <K extends keyof SettingsForm>(k: K, v: SettingsForm[K]) =>
    setF((prev) => ({ ...prev, [k]: v }));
  const setNumber = (k: NumberField, v: string) =>
    setF((prev) => ({ ...prev, numbers: { ...prev.numbers, [k]: v } }));
  const sizing = SIZING_MODES.find((m) => m.mode === f.sizingMode)!;
  const sizingIssue =
    issues['sizing.multiplier'] ?? issues['sizing.lots'] ?? issues['sizing.percent'] ?? issues['sizing'];
  const check = (k: 'buy' | 'sell' | 'reverse' | 'copySl' | 'copyTp' | 'forceMinimum', label: string) => (
    <label className="check">
      <input type="checkbox" name={k} checked={f[k]} onChange={(e) => set(k, e.target.checked)} /> {label}
    </label>
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    put.mutate({ accountId: follower.trim(), settings: toSettings(f) }, { onSuccess: onDone });
  };
  return (
    <form
      className="card form"
      onSubmit={submit}
      data-testid="subscription-form"
      aria-label={accountId ? `Settings of ${accountId}` : 'Add follower'}
    >
      <h2>{accountId ? `Follower ${accountId}` : 'Add a follower'}</h2>
      {!accountId && (
        <Field label="Follower account" hint="The account that copies this group's master">
          <input
            name="followerAccountId"
            list="follower-candidates"
            value={follower}
            onChange={(e) => setFollower(e.target.value)}
            required
          />
          <datalist id="follower-candidates">
            {candidates.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </Field>
      )}
      <fieldset>
        <legend>Copying</legend>
        <div className="form-grid">
          <Field
            label="Mode"
            issue={issues['mode']}
            hint="close only: no new opens, exits still copied; frozen: no new opens, exits still copied, and reconciliation only alerts"
          >
            <select
              name="mode"
              value={f.mode}
              onChange={(e) => set('mode', e.target.value as SettingsForm['mode'])}
            >
              <option value="active">active</option>
              <option value="close_only">close only</option>
              <option value="frozen">frozen</option>
            </select>
          </Field>
          <Field label="Sizing" issue={issues['sizing.mode']}>
            <select
              name="sizingMode"
              value={f.sizingMode}
              onChange={(e) => set('sizingMode', e.target.value as SettingsForm['sizingMode'])}
            >
              {SIZING_MODES.map((m) => (
                <option key={m.mode} value={m.mode}>
                  {m.label}
                </option>
              ))}
            </select>
          </Field>
          {sizing.param && (
            <Field label={`${sizing.paramLabel}${sizing.optional ? ' (optional)' : ''}`} issue={sizingIssue}>
              <input
                name="sizingValue"
                inputMode="decimal"
                value={f.sizingValue}
                onChange={(e) => set('sizingValue', e.target.value)}
              />
            </Field>
          )}
          <Field
            label="Manual close on the follower"
            issue={issues['manualClosePolicy']}
            hint="detach: never re-open a position closed by hand"
          >
            <select
              name="manualClosePolicy"
              value={f.manualClosePolicy}
              onChange={(e) => set('manualClosePolicy', e.target.value as SettingsForm['manualClosePolicy'])}
            >
              <option value="detach">detach</option>
              <option value="reopen">re-open</option>
            </select>
          </Field>
        </div>
        <div className="checks">
          {check('buy', 'copy buys')}
          {check('sell', 'copy sells')}
          {check('reverse', 'reverse (buy ↔ sell)')}
          {check('copySl', 'copy stop loss')}
          {check('copyTp', 'copy take profit')}
        </div>
        {issues['allowedSides'] && (
          <small className="field-issue" role="alert">
            allowed sides: {issues['allowedSides']}
          </small>
        )}
      </fieldset>
      <SymbolMapFields rows={f.symbolMap} onChange={(rows) => set('symbolMap', rows)} issues={issues} />
      <SymbolRulesFields
        auto={f.symbolAuto}
        affixes={f.affixes}
        onAuto={(v) => set('symbolAuto', v)}
        onAffix={(k, v) => setF((prev) => ({ ...prev, affixes: { ...prev.affixes, [k]: v } }))}
        issues={issues}
      />
      <fieldset>
        <legend>Filters</legend>
        <div className="form-grid">
          <Field
            label="Only these symbols"
            issue={issues['symbolFilter.include']}
            hint="comma separated; empty: all"
          >
            <input
              name="symbolInclude"
              value={f.symbolInclude}
              onChange={(e) => set('symbolInclude', e.target.value)}
            />
          </Field>
          <Field label="Never these symbols" issue={issues['symbolFilter.exclude']}>
            <input
              name="symbolExclude"
              value={f.symbolExclude}
              onChange={(e) => set('symbolExclude', e.target.value)}
            />
          </Field>
          <Field label="Only these magic numbers" issue={issues['magicFilter.include']}>
            <input
              name="magicInclude"
              value={f.magicInclude}
              onChange={(e) => set('magicInclude', e.target.value)}
            />
          </Field>
          <Field label="Never these magic numbers" issue={issues['magicFilter.exclude']}>
            <input
              name="magicExclude"
              value={f.magicExclude}
              onChange={(e) => set('magicExclude', e.target.value)}
            />
          </Field>
          <Field
            label="Master lots at least"
            issue={issues['masterVolume.min'] ?? issues['masterVolume']}
            hint="skips master trades outside the range; the follower's own lots are limited below"
          >
            <input
              name="masterVolumeMin"
              inputMode="decimal"
              placeholder="no minimum"
              value={f.masterVolumeMin}
              onChange={(e) => set('masterVolumeMin', e.target.value)}
            />
          </Field>
          <Field
            label="Master lots at most"
            issue={issues['masterVolume.max']}
            hint="a guard against martingale steps"
          >
            <input
              name="masterVolumeMax"
              inputMode="decimal"
              placeholder="no maximum"
              value={f.masterVolumeMax}
              onChange={(e) => set('masterVolumeMax', e.target.value)}
            />
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <div className="form-grid">
          {LIMITS.map(([k, label, placeholder]) => (
            <Field key={k} label={label} issue={issues[k]}>
              <input
                name={k}
                inputMode="decimal"
                placeholder={placeholder}
                value={f.numbers[k]}
                onChange={(e) => setNumber(k, e.target.value)}
              />
            </Field>
          ))}
          <Field
            label="Force minimum: max extra risk factor"
            issue={issues['forceMinimumMaxRiskFactor']}
            hint="used only when force minimum is on"
          >
            <input
              name="forceMinimumMaxRiskFactor"
              inputMode="decimal"
              placeholder="2"
              value={f.numbers.forceMinimumMaxRiskFactor}
              onChange={(e) => setNumber('forceMinimumMaxRiskFactor', e.target.value)}
            />
          </Field>
        </div>
        <div className="checks">
          {check('forceMinimum', 'force the symbol minimum when sizing falls under it')}
        </div>
      </fieldset>
      <fieldset data-testid="on-join">
        <legend>Joining late</legend>
        <p className="hint">
          Positions the master already holds when this follower joins (subscribes, or comes back after its
          copies expired).
        </p>
        <div className="form-grid">
          <Field label="Held positions" issue={issues['onJoin.mode'] ?? issues['onJoin']}>
            <select
              name="joinMode"
              value={f.joinMode}
              onChange={(e) => set('joinMode', e.target.value as JoinMode)}
            >
              <option value="none">leave them</option>
              <option value="market">open at market while near the master's entry</option>
              <option value="limit" disabled>
                limit order at the master's entry (needs pending orders)
              </option>
            </select>
          </Field>
          {f.joinMode !== 'none' && (
            <Field
              label="Max distance from the master's entry, points"
              issue={issues['onJoin.maxDistancePoints']}
            >
              <input
                name="joinDistance"
                inputMode="decimal"
                value={f.joinDistance}
                onChange={(e) => set('joinDistance', e.target.value)}
              />
            </Field>
          )}
        </div>
      </fieldset>
      <fieldset data-testid="pending-orders">
        <legend>Pending orders</legend>
        <p className="hint">
          The master's limit and stop orders. A reversed copy turns a buy limit into a sell stop (and a buy
          stop into a sell limit) at the same price.
        </p>
        <div className="form-grid">
          <Field label="The master's pending orders" issue={issues['pendingOrders']}>
            <select
              name="pendingOrders"
              value={f.pendingOrders}
              onChange={(e) => set('pendingOrders', e.target.value as SettingsForm['pendingOrders'])}
            >
              <option value="copy">place a pending order of its own</option>
              <option value="market_on_fill">place nothing; open at market once the master's fills</option>
              <option value="skip">do not copy them</option>
            </select>
          </Field>
          {f.pendingOrders === 'copy' && (
            <Field
              label="The master's order filled, the follower's not"
              issue={issues['pendingOnMasterFill']}
              hint="market: within the maximum slippage"
            >
              <select
                name="pendingOnMasterFill"
                value={f.pendingOnMasterFill}
                onChange={(e) =>
                  set('pendingOnMasterFill', e.target.value as SettingsForm['pendingOnMasterFill'])
                }
              >
                <option value="leave">leave it waiting for its price</option>
                <option value="market">replace it with a market open</option>
              </select>
            </Field>
          )}
        </div>
      </fieldset>
      <RiskLimitsFields rows={f.riskLimits} onChange={(rows) => set('riskLimits', rows)} issues={issues} />
      <ErrorNotice error={put.error} />
      <div className="form-actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={put.isPending}>
          {put.isPending ? 'Saving…' : accountId ? 'Save settings' : 'Add follower'}
        </button>
      </div>
    </form>
  );
}
