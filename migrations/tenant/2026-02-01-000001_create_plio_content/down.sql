DROP TABLE question;
DROP TABLE item;
DROP TABLE plio;
DROP TABLE image;
DROP TABLE video;
