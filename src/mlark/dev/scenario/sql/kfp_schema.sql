-- The tables of the Kubeflow Pipelines v2 API server (as its ORM creates them in the DSPA's
-- MariaDB) that hold pipeline definitions and run history. A subset: enough for a restore to
-- be checked against ("is iris-run-1 still SUCCEEDED?"). IF NOT EXISTS keeps seeding idempotent.
CREATE TABLE IF NOT EXISTS `pipelines` (
  `UUID` varchar(191) NOT NULL,
  `CreatedAtInSec` bigint(20) NOT NULL,
  `Name` varchar(128) NOT NULL,
  `DisplayName` varchar(128) NOT NULL,
  `Description` longtext NOT NULL,
  `Parameters` longtext NOT NULL,
  `Status` varchar(32) NOT NULL,
  `DefaultVersionId` varchar(255) DEFAULT NULL,
  `Namespace` varchar(63) DEFAULT '',
  PRIMARY KEY (`UUID`),
  UNIQUE KEY `name_namespace_index` (`Name`, `Namespace`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `pipeline_versions` (
  `UUID` varchar(191) NOT NULL,
  `CreatedAtInSec` bigint(20) NOT NULL,
  `Name` varchar(127) NOT NULL,
  `DisplayName` varchar(127) NOT NULL,
  `Parameters` longtext NOT NULL,
  `PipelineId` varchar(191) NOT NULL,
  `Status` varchar(32) NOT NULL,
  `CodeSourceUrl` longtext,
  `Description` longtext NOT NULL,
  `PipelineSpec` longtext NOT NULL,
  `PipelineSpecURI` longtext NOT NULL,
  PRIMARY KEY (`UUID`),
  UNIQUE KEY `idx_pipelineid_name` (`Name`, `PipelineId`),
  KEY `idx_pipeline_versions_CreatedAtInSec` (`CreatedAtInSec`),
  KEY `idx_pipeline_versions_PipelineId` (`PipelineId`),
  CONSTRAINT `fk_pipeline_versions_pipelines` FOREIGN KEY (`PipelineId`) REFERENCES `pipelines` (`UUID`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `experiments` (
  `UUID` varchar(191) NOT NULL,
  `Name` varchar(128) NOT NULL,
  `Description` varchar(255) NOT NULL,
  `CreatedAtInSec` bigint(20) NOT NULL,
  `LastRunCreatedAtInSec` bigint(20) NOT NULL DEFAULT 0,
  `Namespace` varchar(63) NOT NULL,
  `StorageState` varchar(32) NOT NULL,
  PRIMARY KEY (`UUID`),
  UNIQUE KEY `idx_name_namespace` (`Name`, `Namespace`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `default_experiments` (
  `DefaultExperimentId` varchar(191) NOT NULL,
  PRIMARY KEY (`DefaultExperimentId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `run_details` (
  `UUID` varchar(191) NOT NULL,
  `ExperimentUUID` varchar(64) NOT NULL,
  `DisplayName` varchar(255) NOT NULL,
  `Name` varchar(255) NOT NULL,
  `StorageState` varchar(32) NOT NULL,
  `Namespace` varchar(63) NOT NULL,
  `ServiceAccount` varchar(255) NOT NULL,
  `Description` longtext NOT NULL,
  `CreatedAtInSec` bigint(20) NOT NULL,
  `ScheduledAtInSec` bigint(20) DEFAULT 0,
  `FinishedAtInSec` bigint(20) DEFAULT 0,
  `Conditions` varchar(125) NOT NULL,
  `JobUUID` varchar(255) DEFAULT NULL,
  `PipelineId` varchar(255) DEFAULT NULL,
  `PipelineName` varchar(255) DEFAULT NULL,
  `PipelineVersionId` varchar(64) DEFAULT '',
  `PipelineSpecManifest` longtext,
  `WorkflowSpecManifest` longtext NOT NULL,
  `Parameters` longtext,
  `RuntimeParameters` longtext,
  `PipelineRoot` longtext,
  `PipelineRuntimeManifest` longtext NOT NULL,
  `WorkflowRuntimeManifest` longtext NOT NULL,
  `State` varchar(64) DEFAULT NULL,
  `StateHistory` longtext,
  `PipelineContextId` bigint(20) DEFAULT 0,
  `PipelineRunContextId` bigint(20) DEFAULT 0,
  PRIMARY KEY (`UUID`),
  KEY `experimentuuid_createatinsec` (`ExperimentUUID`, `CreatedAtInSec`),
  KEY `experimentuuid_conditions_finishedatinsec` (`ExperimentUUID`, `Conditions`, `FinishedAtInSec`),
  KEY `namespace_createatinsec` (`Namespace`, `CreatedAtInSec`),
  KEY `namespace_conditions_finishedatinsec` (`Namespace`, `Conditions`, `FinishedAtInSec`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tasks` (
  `UUID` varchar(191) NOT NULL,
  `Namespace` varchar(63) NOT NULL,
  `PipelineName` varchar(128) NOT NULL,
  `RunUUID` varchar(191) NOT NULL,
  `PodName` varchar(128) NOT NULL,
  `MLMDExecutionID` varchar(255) NOT NULL,
  `CreatedTimestamp` bigint(20) NOT NULL,
  `StartedTimestamp` bigint(20) DEFAULT 0,
  `FinishedTimestamp` bigint(20) DEFAULT 0,
  `Fingerprint` varchar(255) NOT NULL,
  `Name` varchar(128) DEFAULT NULL,
  `ParentTaskUUID` varchar(191) DEFAULT NULL,
  `State` varchar(64) DEFAULT NULL,
  `StateHistory` longtext,
  `MLMDInputs` longtext,
  `MLMDOutputs` longtext,
  `ChildrenPods` longtext,
  `Payload` longtext,
  PRIMARY KEY (`UUID`),
  KEY `idx_task_runuuid` (`RunUUID`),
  CONSTRAINT `fk_tasks_run_details` FOREIGN KEY (`RunUUID`) REFERENCES `run_details` (`UUID`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `db_statuses` (
  `HaveSamplesLoaded` tinyint(1) NOT NULL,
  PRIMARY KEY (`HaveSamplesLoaded`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
