DROP TABLE calendar_overrides;
DROP TABLE calendar_settings;
