DROP TABLE model_has_tag;
DROP TABLE tag;
