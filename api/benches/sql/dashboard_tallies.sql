-- The dashboard over the monthly tallies Bydel keeps (migration 13), as hand-written SQL: the
-- ceiling for Bydel's own dashboard statement (which adds the grand total and disclosure control).
SELECT EXTRACT(MONTH FROM t.month)::int AS month, t.topic, sum(t.visits)
  FROM visit_topic_month t
  JOIN project p ON p.id = t.project_id
 WHERE p.municipality_code = :municipality
   AND t.month BETWEEN ':from' AND ':to'
 GROUP BY 1, 2
HAVING sum(t.visits) > 0;
