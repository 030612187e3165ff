-- The inbox as one hand-written statement: referrals with participant, mother, project and
-- the timeline as JSON (what a GraphQL response carries).
SELECT r.id, r.status, r.service_category, r.requested_at, r.version, r.note,
       p.pseudonym, p.first_name, p.birth_year, p.preferred_language, p.preferred_contact, p.district,
       m.first_name, m.last_name, pr.name,
       (SELECT json_agg(json_build_object('sequence', e.sequence, 'from', e.from_status, 'to', e.to_status,
                                          'reason', e.reason, 'at', e.occurred_at) ORDER BY e.sequence)
          FROM referral_event e WHERE e.referral_id = r.id) AS events
  FROM referral r
  JOIN participant p ON p.id = r.participant_id
  LEFT JOIN mother m ON m.id = r.mother_id
  LEFT JOIN project pr ON pr.id = r.project_id
 WHERE r.receiver_organisation_id = ':receiver' AND r.status = 'requested'
 ORDER BY r.created_at DESC, r.id DESC
 LIMIT 50;
