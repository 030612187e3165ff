SELECT p.id, p.name, p.status, p.started_on,
       (SELECT json_agg(json_build_object('id', m.id, 'first', m.first_name, 'last', m.last_name,
                                          'status', m.status, 'joined', m.joined_on))
          FROM mother m WHERE m.project_id = p.id) AS mothers,
       (SELECT json_agg(x) FROM (
          SELECT v.id, v.visited_on, v.channel, v.duration_minutes,
                 (SELECT array_agg(t.topic) FROM visit_topic t WHERE t.visit_id = v.id) AS topics
            FROM visit v WHERE v.project_id = p.id
           ORDER BY v.visited_on DESC, v.id DESC LIMIT 20) x) AS visits
  FROM project p WHERE p.id = ':project';
