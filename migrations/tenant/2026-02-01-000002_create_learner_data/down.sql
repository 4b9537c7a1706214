DROP TABLE event;
DROP TABLE session_answer;
DROP TABLE session;
DROP TABLE experiment_plio;
DROP TABLE experiment;
