"""A plain-text summary of an access policy, per channel, for admins before they deploy."""

from __future__ import annotations

from bot.access import Policy, Rule


def describe(rule: Rule) -> str:
    if not rule.allow:
        return "denied"
    parts = [f"allowed, reply {rule.reply.replace('_', ' ')}"]
    parts.append("share button" if rule.share and rule.reply == "ephemeral" else "no share button")
    parts.append("masks " + ", ".join(sorted(rule.mask)) if rule.mask else "no masking")
    parts.append("guests allowed" if rule.guests else "guests denied")
    if rule.restricts_people:
        who = sorted(rule.users) + sorted(rule.usergroups)
        parts.append("only " + ", ".join(who))
    parts.append("BIK links unfurled" if rule.unfurl else "no link unfurls")
    if rule.external_unmasked:
        parts.append("UNMASKED even when shared with another organisation")
    else:
        parts.append("fully masked in channel-visible posts if shared with another organisation")
    return "; ".join(parts)


def report(policy: Policy) -> str:
    lines = [f"{policy.path}: valid. {policy.allowed_channel_count} channel(s) allowed by their own entry."]
    lines.append(f"  any other channel      {describe(policy.defaults)}")
    lines.append(f"  direct messages        {describe(policy.direct_messages)}")
    for channel_id, rule in sorted(policy.channels.items()):
        lines.append(f"  {channel_id:<22} {describe(rule)}")
    return "\n".join(lines)
