import { Field } from '../../shared/ui/field';
import { AFFIXES, type Affix } from './settings-codec';

const LABELS: Record<Affix, [string, string]> = {
  masterPrefix: ["Master's prefix to strip", 'e.g. m'],
  masterSuffix: ["Master's suffix to strip", 'e.g. .r'],
  followerPrefix: ["Follower's prefix to add", 'e.g. #'],
  followerSuffix: ["Follower's suffix to add", 'e.g. .m'],
};

/** How master symbols become the follower's when the symbol map does not name them. */
export function SymbolRulesFields({
  auto,
  affixes,
  onAuto,
  onAffix,
  issues,
}: {
  auto: boolean;
  affixes: Record<Affix, string>;
  onAuto(v: boolean): void;
  onAffix(k: Affix, v: string): void;
  issues: Record<string, string>;
}) {
  return (
    <fieldset data-testid="symbol-rules">
      <legend>Symbol resolution</legend>
      <p className="hint">
        The symbol map wins. Then affix rules turn EURUSD.r into EURUSD.m; automatic resolution also searches
        the follower's symbol list for the same name, the same base with the broker's affixes (EURUSD →
        EURUSD.m) and synonyms (XAUUSD → GOLD, DJ30 → US30.cash), and skips a symbol two names fit.
      </p>
      <div className="checks">
        <label className="check">
          <input
            type="checkbox"
            name="symbolAuto"
            checked={auto}
            onChange={(e) => onAuto(e.target.checked)}
          />{' '}
          resolve symbols automatically from the follower's symbol list
        </label>
      </div>
      <div className="form-grid">
        {AFFIXES.map((k) => (
          <Field key={k} label={LABELS[k][0]} issue={issues[`symbolRules.${k}`]}>
            <input
              name={k}
              placeholder={LABELS[k][1]}
              value={affixes[k]}
              onChange={(e) => onAffix(k, e.target.value)}
            />
          </Field>
        ))}
      </div>
    </fieldset>
  );
}
