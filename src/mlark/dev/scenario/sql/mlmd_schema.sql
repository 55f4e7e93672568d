-- The ML Metadata (MLMD) schema in which Kubeflow Model Registry keeps its entities:
-- RegisteredModel and ModelVersion are Contexts (a version's ParentContext is its model),
-- a ModelArtifact is an Artifact attributed to its version, and every field beyond the
-- core columns is a row of ContextProperty / ArtifactProperty. IF NOT EXISTS: idempotent.
CREATE TABLE IF NOT EXISTS `Type` (
  `id` int NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `version` varchar(255) DEFAULT NULL,
  `type_kind` tinyint(1) NOT NULL,
  `description` text,
  `input_type` text,
  `output_type` text,
  `external_id` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `external_id` (`external_id`),
  KEY `idx_type_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ParentType` (
  `type_id` int NOT NULL,
  `parent_type_id` int NOT NULL,
  PRIMARY KEY (`type_id`, `parent_type_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `TypeProperty` (
  `type_id` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `data_type` int DEFAULT NULL,
  PRIMARY KEY (`type_id`, `name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Artifact` (
  `id` int NOT NULL AUTO_INCREMENT,
  `type_id` int NOT NULL,
  `uri` text,
  `state` int DEFAULT NULL,
  `name` varchar(255) DEFAULT NULL,
  `external_id` varchar(255) DEFAULT NULL,
  `create_time_since_epoch` bigint NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `UniqueArtifactTypeName` (`type_id`, `name`),
  UNIQUE KEY `external_id` (`external_id`),
  KEY `idx_artifact_uri` (`uri`(255)),
  KEY `idx_artifact_create_time_since_epoch` (`create_time_since_epoch`),
  KEY `idx_artifact_last_update_time_since_epoch` (`last_update_time_since_epoch`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ArtifactProperty` (
  `artifact_id` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `is_custom_property` tinyint(1) NOT NULL,
  `int_value` int DEFAULT NULL,
  `double_value` double DEFAULT NULL,
  `string_value` mediumtext,
  `byte_value` mediumblob,
  `proto_value` mediumblob,
  `bool_value` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`artifact_id`, `name`, `is_custom_property`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Execution` (
  `id` int NOT NULL AUTO_INCREMENT,
  `type_id` int NOT NULL,
  `last_known_state` int DEFAULT NULL,
  `name` varchar(255) DEFAULT NULL,
  `external_id` varchar(255) DEFAULT NULL,
  `create_time_since_epoch` bigint NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `UniqueExecutionTypeName` (`type_id`, `name`),
  UNIQUE KEY `external_id` (`external_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ExecutionProperty` (
  `execution_id` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `is_custom_property` tinyint(1) NOT NULL,
  `int_value` int DEFAULT NULL,
  `double_value` double DEFAULT NULL,
  `string_value` mediumtext,
  `byte_value` mediumblob,
  `proto_value` mediumblob,
  `bool_value` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`execution_id`, `name`, `is_custom_property`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Context` (
  `id` int NOT NULL AUTO_INCREMENT,
  `type_id` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `external_id` varchar(255) DEFAULT NULL,
  `create_time_since_epoch` bigint NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `type_id` (`type_id`, `name`),
  UNIQUE KEY `external_id` (`external_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ContextProperty` (
  `context_id` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `is_custom_property` tinyint(1) NOT NULL,
  `int_value` int DEFAULT NULL,
  `double_value` double DEFAULT NULL,
  `string_value` mediumtext,
  `byte_value` mediumblob,
  `proto_value` mediumblob,
  `bool_value` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`context_id`, `name`, `is_custom_property`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ParentContext` (
  `context_id` int NOT NULL,
  `parent_context_id` int NOT NULL,
  PRIMARY KEY (`context_id`, `parent_context_id`),
  KEY `idx_parentcontext_parent_context_id` (`parent_context_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Attribution` (
  `id` int NOT NULL AUTO_INCREMENT,
  `context_id` int NOT NULL,
  `artifact_id` int NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `context_id` (`context_id`, `artifact_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Association` (
  `id` int NOT NULL AUTO_INCREMENT,
  `context_id` int NOT NULL,
  `execution_id` int NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `context_id` (`context_id`, `execution_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Event` (
  `id` int NOT NULL AUTO_INCREMENT,
  `artifact_id` int NOT NULL,
  `execution_id` int NOT NULL,
  `type` int NOT NULL,
  `milliseconds_since_epoch` bigint DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `UniqueEvent` (`artifact_id`, `execution_id`, `type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `MLMDEnv` (
  `schema_version` int NOT NULL,
  PRIMARY KEY (`schema_version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
