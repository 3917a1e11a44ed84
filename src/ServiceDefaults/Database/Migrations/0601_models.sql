-- Runtime models (general_settings.store_model_in_db): what POST /model/new added, read by every Ingress and Workers
-- process. litellm_params and model_info are kept as given (os.environ/ references stay references).

CREATE TABLE broker_models (
    id              text        PRIMARY KEY,
    model_name      text        NOT NULL,
    litellm_params  jsonb       NOT NULL,
    model_info      jsonb       NOT NULL DEFAULT '{}',
    created_by      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE INDEX broker_models_name ON broker_models (model_name);
