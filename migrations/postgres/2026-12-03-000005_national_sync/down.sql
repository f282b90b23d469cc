DROP TABLE national_sync;
