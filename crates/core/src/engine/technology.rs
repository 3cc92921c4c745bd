//! Technologies a canvas component can be made of (MySQL, PostgreSQL, Redis, Kafka, ...):
//! display names, container images and which canvas node type they are. Used to read a
//! component's engine from the canvas and to understand "Replace MySQL with PostgreSQL".

use crate::model::NodeType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TechCategory {
    SqlDatabase,
    DocumentDatabase,
    Cache,
    Queue,
    LoadBalancer,
    SearchEngine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technology {
    pub key: &'static str,
    pub name: &'static str,
    pub category: TechCategory,
    pub synonyms: &'static [&'static str],
    pub image: &'static str,
    pub port: u16,
}

impl Technology {
    pub fn node_type(&self) -> NodeType {
        match self.category {
            TechCategory::SqlDatabase | TechCategory::DocumentDatabase => NodeType::Database,
            TechCategory::Cache => NodeType::Cache,
            TechCategory::Queue => NodeType::Queue,
            TechCategory::LoadBalancer => NodeType::LoadBalancer,
            TechCategory::SearchEngine => NodeType::Database,
        }
    }
}

pub const TECHNOLOGIES: &[Technology] = &[
    Technology {
        key: "mysql",
        name: "MySQL",
        category: TechCategory::SqlDatabase,
        synonyms: &["mysql", "my sql", "mariadb", "aurora mysql"],
        image: "mysql:8.0",
        port: 3306,
    },
    Technology {
        key: "postgresql",
        name: "PostgreSQL",
        category: TechCategory::SqlDatabase,
        synonyms: &["postgresql", "postgres", "postgre sql", "psql", "pg"],
        image: "postgres:16",
        port: 5432,
    },
    Technology {
        key: "mongodb",
        name: "MongoDB",
        category: TechCategory::DocumentDatabase,
        synonyms: &["mongodb", "mongo", "mongo db"],
        image: "mongo:7",
        port: 27017,
    },
    Technology {
        key: "dynamodb",
        name: "DynamoDB",
        category: TechCategory::DocumentDatabase,
        synonyms: &["dynamodb", "dynamo", "dynamo db"],
        image: "amazon/dynamodb-local:2.5.2",
        port: 8000,
    },
    Technology {
        key: "redis",
        name: "Redis",
        category: TechCategory::Cache,
        synonyms: &["redis", "redis cache", "redis cluster"],
        image: "redis:7.2",
        port: 6379,
    },
    Technology {
        key: "memcached",
        name: "Memcached",
        category: TechCategory::Cache,
        synonyms: &["memcached", "memcache"],
        image: "memcached:1.6",
        port: 11211,
    },
    Technology {
        key: "kafka",
        name: "Kafka",
        category: TechCategory::Queue,
        synonyms: &["kafka", "apache kafka"],
        image: "bitnami/kafka:3.7",
        port: 9092,
    },
    Technology {
        key: "rabbitmq",
        name: "RabbitMQ",
        category: TechCategory::Queue,
        synonyms: &["rabbitmq", "rabbit mq", "rabbit"],
        image: "rabbitmq:3.13-management",
        port: 5672,
    },
    Technology {
        key: "nginx",
        name: "NGINX",
        category: TechCategory::LoadBalancer,
        synonyms: &["nginx"],
        image: "nginx:1.27",
        port: 80,
    },
    Technology {
        key: "haproxy",
        name: "HAProxy",
        category: TechCategory::LoadBalancer,
        synonyms: &["haproxy", "ha proxy"],
        image: "haproxy:2.9",
        port: 80,
    },
    Technology {
        key: "elasticsearch",
        name: "Elasticsearch",
        category: TechCategory::SearchEngine,
        synonyms: &[
            "elasticsearch",
            "elastic search",
            "opensearch",
            "open search",
        ],
        image: "docker.elastic.co/elasticsearch/elasticsearch:8.13.4",
        port: 9200,
    },
];

pub fn technology(key: &str) -> Option<&'static Technology> {
    TECHNOLOGIES.iter().find(|t| t.key == key)
}

/// SQL dialects the schema templates render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    MySql,
    Postgres,
}

impl SqlDialect {
    pub fn for_technology(key: &str) -> Option<Self> {
        match key {
            "mysql" => Some(Self::MySql),
            "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    pub fn technology(self) -> &'static str {
        match self {
            Self::MySql => "mysql",
            Self::Postgres => "postgresql",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MySql => "MySQL 8",
            Self::Postgres => "PostgreSQL 16",
        }
    }
}
