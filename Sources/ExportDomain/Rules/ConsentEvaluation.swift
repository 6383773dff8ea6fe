/// The ATR opt-out rule: is a member excluded from the export by their Consents?
///
/// Firely treats a `deny` Consent as a provider-access opt-out when
/// `provision.action.extension` `pdex-provider-access-use-case` is `true`, or when the Consent
/// has no such extension at all (a global opt-out). A later `permit` for the same use revokes it.
public enum ConsentEvaluation {
    /// What one Consent says about the provider-access use case.
    public enum Decision: Sendable, Equatable {
        case optOut
        case optIn
    }

    /// Whether the member is opted out, given all Consents whose `patient` is the member.
    ///
    /// Only applicable Consents count: `status` `active`, `provision.type` `deny` or `permit`,
    /// and `provision.period` covering `now` (absent = always). Of those, only the ones
    /// relevant to provider access (see `decision(of:now:)`). The most recent relevant one
    /// decides, ordered by `dateTime`, falling back to `meta.lastUpdated`; Consents with
    /// neither are the oldest, and on a tie a deny wins. No relevant Consent: not opted out.
    public static func isOptedOut(consents: [JSONObject], now: FHIRInstant) -> Bool {
        mostRecentRelevant(consents, now: now)?.decision == .optOut
    }

    /// The Consent that decides, with its decision, or `nil` when none is relevant.
    public static func mostRecentRelevant(_ consents: [JSONObject], now: FHIRInstant)
        -> (consent: JSONObject, decision: Decision)?
    {
        var best: (consent: JSONObject, decision: Decision, time: FHIRInstant?)?
        for consent in consents {
            guard let decision = decision(of: consent, now: now) else { continue }
            let time = recordedTime(of: consent)
            if let current = best {
                if isOlder(current.time, than: time) || (current.time == time && decision == .optOut) {
                    best = (consent, decision, time)
                }
            } else {
                best = (consent, decision, time)
            }
        }
        return best.map { ($0.consent, $0.decision) }
    }

    /// What `consent` says about provider access at `now`, or `nil` when it is not applicable
    /// (not `active`, period not covering `now`, no `deny`/`permit` provision) or not about
    /// provider access (the use-case extension is present but never `true`).
    ///
    /// A `provision.period` that cannot be read is resolved towards privacy: a deny still
    /// applies, a permit does not.
    public static func decision(of consent: JSONObject, now: FHIRInstant) -> Decision? {
        guard consent["status"]?.stringValue == "active",
              let provision = consent["provision"]?.objectValue else { return nil }
        let decision: Decision
        switch provision["type"]?.stringValue {
        case "deny": decision = .optOut
        case "permit": decision = .optIn
        default: return nil
        }
        switch PeriodRule.covers(provision["period"], now: now) {
        case true?: break
        case false?: return nil
        case nil: if decision == .optIn { return nil }
        }
        switch useCaseFlag(of: provision) {
        case .absent, .providerAccess: return decision
        case .otherUse: return nil
        }
    }

    private enum UseCaseFlag {
        /// No `pdex-provider-access-use-case` extension on any `provision.action`.
        case absent
        /// At least one such extension with `valueBoolean` true.
        case providerAccess
        /// Only such extensions with `valueBoolean` false.
        case otherUse
    }

    private static func useCaseFlag(of provision: JSONObject) -> UseCaseFlag {
        var sawFalse = false
        for action in provision["action"]?.arrayValue ?? [] {
            for ext in action["extension"]?.arrayValue ?? []
            where ext["url"]?.stringValue == ATRExtension.providerAccessUseCase {
                switch ext["valueBoolean"]?.boolValue {
                case true?: return .providerAccess
                case false?: sawFalse = true
                case nil: break  // no boolean value: says nothing either way
                }
            }
        }
        return sawFalse ? .otherUse : .absent
    }

    /// `dateTime`, else `meta.lastUpdated`, else `nil` (oldest).
    static func recordedTime(of consent: JSONObject) -> FHIRInstant? {
        if let text = consent["dateTime"]?.stringValue, let time = FHIRInstant.parseDateTime(text) {
            return time
        }
        if let text = consent["meta"]?["lastUpdated"]?.stringValue, let time = FHIRInstant.parseDateTime(text) {
            return time
        }
        return nil
    }

    /// `nil` is older than every time.
    private static func isOlder(_ lhs: FHIRInstant?, than rhs: FHIRInstant?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return false
        case (nil, _?): return true
        case (_?, nil): return false
        case let (l?, r?): return l < r
        }
    }
}
