-- Grading's PostgreSQL schema and data as the release at commit 94c6f54 left them,
-- made by tests/data/make_94c6f54.py (see README-94c6f54.md). Loads into the schema
-- that search_path names: no object is schema-qualified. The trigram index names
-- public.gin_trgm_ops: pg_trgm must be installed in schema public first.

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE FUNCTION totals_on_grades() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE student_totals SET grade_count = grade_count + a.n, score_sum = score_sum + a.total,
            average = (score_sum + a.total) / (grade_count + a.n)
        FROM (SELECT student_id, COUNT(*) AS n, SUM(score) AS total FROM added GROUP BY student_id) AS a
        WHERE student_totals.student_id = a.student_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM student_totals WHERE student_id IN (SELECT student_id FROM removed) FOR UPDATE;
        UPDATE student_totals SET
    grade_count = (SELECT COUNT(*) FROM grades WHERE student_id = student_totals.student_id),
    score_sum = (SELECT COALESCE(SUM(score), 0) FROM grades WHERE student_id = student_totals.student_id),
    average = (SELECT AVG(score) FROM grades WHERE student_id = student_totals.student_id) WHERE student_id IN (SELECT student_id FROM removed);
    ELSE
        PERFORM 1 FROM student_totals
            WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added) FOR UPDATE;
        UPDATE student_totals SET
    grade_count = (SELECT COUNT(*) FROM grades WHERE student_id = student_totals.student_id),
    score_sum = (SELECT COALESCE(SUM(score), 0) FROM grades WHERE student_id = student_totals.student_id),
    average = (SELECT AVG(score) FROM grades WHERE student_id = student_totals.student_id) WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION totals_on_students() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO student_totals (student_id) SELECT id FROM added;
        UPDATE student_count SET n = n + (SELECT COUNT(*) FROM added);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE student_count SET n = n - (SELECT COUNT(*) FROM removed);
    ELSE
        UPDATE student_count SET n = 0;
    END IF;
    RETURN NULL;
END $$;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE grades (
    id bigint NOT NULL,
    student_id bigint NOT NULL,
    title text NOT NULL,
    type text NOT NULL,
    score double precision NOT NULL
);

CREATE SEQUENCE grades_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE grades_id_seq OWNED BY grades.id;

CREATE TABLE requests (
    request_id text NOT NULL,
    method text NOT NULL,
    fingerprint text NOT NULL,
    result text
);

CREATE TABLE student_count (
    only_row boolean DEFAULT true NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT student_count_only_row_check CHECK (only_row)
);

CREATE TABLE student_totals (
    student_id bigint NOT NULL,
    grade_count bigint DEFAULT 0 NOT NULL,
    score_sum double precision DEFAULT 0 NOT NULL,
    average double precision
);

CREATE TABLE students (
    id bigint NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL
);

CREATE SEQUENCE students_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE students_id_seq OWNED BY students.id;

ALTER TABLE ONLY grades ALTER COLUMN id SET DEFAULT nextval('grades_id_seq'::regclass);

ALTER TABLE ONLY students ALTER COLUMN id SET DEFAULT nextval('students_id_seq'::regclass);

INSERT INTO grades VALUES (2, 1, 'Final Exam', 'Exam', 94);
INSERT INTO grades VALUES (3, 1, 'Quiz 2', 'Quiz', 82);
INSERT INTO grades VALUES (4, 2, 'Quiz 1', 'Quiz', 100);
INSERT INTO grades VALUES (6, 2, 'Quiz 2', 'Quiz', 81);
INSERT INTO grades VALUES (7, 3, 'Quiz 1', 'Quiz', 67);
INSERT INTO grades VALUES (8, 3, 'Final Exam', 'Exam', 0);
INSERT INTO grades VALUES (9, 3, 'Quiz 2', 'Quiz', 75);
INSERT INTO grades VALUES (10, 4, 'Quiz 1', 'Quiz', 44);
INSERT INTO grades VALUES (11, 4, 'Final Exam', 'Exam', 0);
INSERT INTO grades VALUES (12, 4, 'Quiz 2', 'Quiz', 66);
INSERT INTO grades VALUES (13, 5, 'Quiz 1', 'Quiz', 23);
INSERT INTO grades VALUES (14, 5, 'Final Exam', 'Exam', 0);
INSERT INTO grades VALUES (15, 5, 'Quiz 2', 'Quiz', 44);
INSERT INTO grades VALUES (16, 6, 'Essay: Über die Zeit', 'Homework', 91.5);
INSERT INTO grades VALUES (19, 8, 'Exam "final", part 2', 'Exam', 64);
INSERT INTO grades VALUES (20, 9, '期末試験', 'Exam', 99.5);
INSERT INTO grades VALUES (21, 7, 'Домашнее задание', 'Homework', 72);
INSERT INTO grades VALUES (22, 8, 'Quiz 2', 'Quiz', 80.75);
INSERT INTO grades VALUES (18, 7, 'Контрольная работа (пересдача)', 'Test', 93);
INSERT INTO grades VALUES (1, 1, 'Quiz 1', 'Test', 87);

INSERT INTO requests VALUES ('fixture-student-1', 'add_student', '1decac80b96dc786f615f078717e1534c948a61044f6f81c06dcb4084117f789', '{"id": 6, "first_name": "Zo\u00eb", "last_name": "\u00c5ngstr\u00f6m", "average": null, "grades": []}');
INSERT INTO requests VALUES ('fixture-student-2', 'add_student', 'e8fd58f110a29f2730f76cf6814e189565738b3acf621c3787a64f1c51bf64f5', '{"id": 7, "first_name": "\u0414\u043c\u0438\u0442\u0440\u0438\u0439", "last_name": "\u0428\u043e\u0441\u0442\u0430\u043a\u043e\u0432\u0438\u0447", "average": null, "grades": []}');
INSERT INTO requests VALUES ('fixture-student-3', 'add_student', '99ee447274969dece67565e9360ae4e3cf1b21b817dfec37b185b6b70ad200d4', '{"id": 8, "first_name": "Jose\u0301", "last_name": "Nun\u0303ez", "average": null, "grades": []}');
INSERT INTO requests VALUES ('fixture-student-4', 'add_student', '701c976fe393f9dd1dd3bd8cdabd581aaa28651f8c93469aafc691cd5f64fd25', '{"id": 9, "first_name": "\u82b1\u5b50", "last_name": "\u5c71\u7530", "average": null, "grades": []}');
INSERT INTO requests VALUES ('fixture-student-5', 'add_student', '7143bb9852034b278e2ea4f7fa5349fc884cd84ebe591f060cfbaad3ca05d000', '{"id": 10, "first_name": "Ada", "last_name": "Lovelace", "average": null, "grades": []}');
INSERT INTO requests VALUES ('fixture-grade-1', 'add_grade', '098d38d22e175145c9d64c0713656e4a21dbe85c488e58312a63abd8a5e20b38', '{"id": 16, "title": "Essay: \u00dcber die Zeit", "type": "Homework", "score": 91.5}');
INSERT INTO requests VALUES ('fixture-import-1', 'import_grades', 'bd69d62a2a2ee8ca818010b2546f7378352a99bbc06ec8c72a0677f9b8df3b32', '{"imported": 2}');

INSERT INTO student_count VALUES (true, 10);

INSERT INTO student_totals VALUES (3, 3, 142, 47.333333333333336);
INSERT INTO student_totals VALUES (4, 3, 110, 36.666666666666664);
INSERT INTO student_totals VALUES (5, 3, 67, 22.333333333333332);
INSERT INTO student_totals VALUES (10, 0, 0, NULL);
INSERT INTO student_totals VALUES (9, 1, 99.5, 99.5);
INSERT INTO student_totals VALUES (8, 2, 144.75, 72.375);
INSERT INTO student_totals VALUES (7, 2, 165, 82.5);
INSERT INTO student_totals VALUES (1, 3, 263, 87.66666666666667);
INSERT INTO student_totals VALUES (6, 1, 91.5, 91.5);
INSERT INTO student_totals VALUES (2, 2, 181, 90.5);

INSERT INTO students VALUES (1, 'Nick', 'Carter');
INSERT INTO students VALUES (2, 'Roberto', 'Baggio');
INSERT INTO students VALUES (3, 'Emma', 'Stone');
INSERT INTO students VALUES (4, 'zhangsan', 'san');
INSERT INTO students VALUES (5, 'xiaoqiao', 'qiao');
INSERT INTO students VALUES (6, 'Zoë', 'Ångström');
INSERT INTO students VALUES (7, 'Дмитрий', 'Шостакович');
INSERT INTO students VALUES (8, 'José', 'Nuñez');
INSERT INTO students VALUES (9, '花子', '山田');
INSERT INTO students VALUES (10, 'Ada', 'Lovelace');

SELECT pg_catalog.setval('grades_id_seq', 22, true);

SELECT pg_catalog.setval('students_id_seq', 10, true);

ALTER TABLE ONLY grades
    ADD CONSTRAINT grades_pkey PRIMARY KEY (id);

ALTER TABLE ONLY requests
    ADD CONSTRAINT requests_pkey PRIMARY KEY (request_id);

ALTER TABLE ONLY student_count
    ADD CONSTRAINT student_count_pkey PRIMARY KEY (only_row);

ALTER TABLE ONLY student_totals
    ADD CONSTRAINT student_totals_pkey PRIMARY KEY (student_id);

ALTER TABLE ONLY students
    ADD CONSTRAINT students_pkey PRIMARY KEY (id);

CREATE INDEX grades_by_student ON grades USING btree (student_id, id);

CREATE INDEX students_by_name ON students USING btree (lower(last_name) COLLATE "C", lower(first_name) COLLATE "C", id);

CREATE INDEX students_name_trigrams ON students USING gin (first_name public.gin_trgm_ops, last_name public.gin_trgm_ops);

CREATE INDEX totals_down ON student_totals USING btree (average DESC NULLS LAST, student_id);

CREATE INDEX totals_up ON student_totals USING btree (average, student_id);

CREATE TRIGGER totals_on_grade_delete AFTER DELETE ON grades REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades();

CREATE TRIGGER totals_on_grade_insert AFTER INSERT ON grades REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades();

CREATE TRIGGER totals_on_grade_update AFTER UPDATE ON grades REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades();

CREATE TRIGGER totals_on_student_delete AFTER DELETE ON students REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students();

CREATE TRIGGER totals_on_student_insert AFTER INSERT ON students REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students();

CREATE TRIGGER totals_on_student_truncate AFTER TRUNCATE ON students FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students();

ALTER TABLE ONLY grades
    ADD CONSTRAINT grades_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id);

ALTER TABLE ONLY student_totals
    ADD CONSTRAINT student_totals_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE;
