DROP TABLE calendar_rules;
