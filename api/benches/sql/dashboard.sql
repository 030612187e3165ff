-- Visits per month by topic in one municipality for a year (no small-count suppression).
SELECT date_trunc('month', v.visited_on)::date AS month, t.topic, count(*)
  FROM visit v
  JOIN visit_topic t ON t.visit_id = v.id
  JOIN project p ON p.id = v.project_id
 WHERE p.municipality_code = :municipality
   AND v.visited_on BETWEEN ':from' AND ':to'
 GROUP BY 1, 2;
