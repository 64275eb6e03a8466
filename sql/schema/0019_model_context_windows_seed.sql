-- name: model_context_windows_seed
-- description: Known context windows (as published by the providers), inserted once; users' rows win by date.
INSERT INTO {{database}}.model_context_windows (Model, ContextTokens, UpdatedAt) VALUES
    ('gpt-4o', 128000, '2000-01-01'), ('gpt-4o-mini', 128000, '2000-01-01'), ('gpt-4-turbo', 128000, '2000-01-01'),
    ('gpt-4.1', 1047576, '2000-01-01'), ('gpt-4.1-mini', 1047576, '2000-01-01'), ('gpt-4', 8192, '2000-01-01'),
    ('gpt-3.5-turbo', 16385, '2000-01-01'), ('o1', 200000, '2000-01-01'), ('o3', 200000, '2000-01-01'),
    ('o4-mini', 200000, '2000-01-01'), ('gpt-5', 400000, '2000-01-01'), ('claude-3', 200000, '2000-01-01'),
    ('claude-sonnet-4', 200000, '2000-01-01'), ('claude-opus-4', 200000, '2000-01-01'),
    ('gemini-1.5-pro', 2097152, '2000-01-01'), ('gemini-2.0-flash', 1048576, '2000-01-01'),
    ('gemini-2.5-pro', 1048576, '2000-01-01'), ('llama-3.1', 131072, '2000-01-01'),
    ('mistral-large', 131072, '2000-01-01'), ('deepseek-chat', 65536, '2000-01-01'), ('sim-small', 8000, '2000-01-01')
