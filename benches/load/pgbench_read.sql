-- The SQL behind GET /api/v1/dossiers/{code}: the caller's account check, then the dossier by its
-- unique key (the seeded ids are 1..:n).
\set id random(1, :n)
SELECT active FROM users WHERE username = 'admin';
SELECT * FROM dossiers WHERE id = :id;
