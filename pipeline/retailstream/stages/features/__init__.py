"""Stage 2: the feature files into HDFS (``upload.upload_features``) and into Hive
(``build.build_features_table``)."""
