"""Every session-state key the app uses, namespaced by the page or part that owns it.

Per-user data lives in `st.session_state` under these keys and nowhere else. Widgets that must
keep their value when the user visits another page are drawn with `persist_state=KEEP` (the one
mechanism for that); everything else here is plain session data.
"""

from __future__ import annotations

KEEP = "session"  # persist_state value: a widget's value survives a visit to another page

# -- the model picker, shared by Chat and Model info -------------------------------------------
PROVIDER = "model_provider"
MODEL = "model_id"  # the model picked from the endpoint's list, or typed
MODEL_SEARCH = "model_search"
MODEL_OTHER = "model_other"  # the typed model id when the list lacks it ("Other model id…")
MODEL_PUBLISHERS, MODEL_CAPABILITY = "model_publishers", "model_capability"  # catalog filters
SESSION_TOKEN = "model_session_token"  # a Secret pasted for this session only (never a widget value)
TOKEN_INPUT = "model_token_input"
CUSTOM_ENDPOINTS = "model_custom_endpoints"  # CustomEndpoint list, this session only
CUSTOM_FORM = "model_custom_"  # prefix of the Add-an-endpoint form's inputs
CUSTOM_ERROR = "model_custom_error"
TOKEN_OPEN, ADD_ENDPOINT_OPEN = "model_token_open", "model_add_endpoint_open"
# {provider id: bool}: the user says this endpoint's model accepts images (no catalog says so);
# shared by Chat and Compare. The sidebar's checkbox is VISION_INPUT + provider id.
VISION, VISION_INPUT = "model_accepts_images", "model_accepts_images_"
# The embedded model's restart count this session last saw: a higher one is told ("restarted").
EMBEDDED_RESTARTS = "model_embedded_restarts"

# -- Chat ---------------------------------------------------------------------------------------
CHAT = "chat_"  # prefix of the Chat page's keys; parameters are CHAT + the parameter's name
MESSAGES = "chat_messages"  # list[playground.messages.Message]
ERROR = "chat_error"  # the last request's error message, shown until the next send
RETRY = "chat_retry"  # set by Retry, Edit and Regenerate: send the conversation again
GENERATION = "chat_generation"  # the reply being streamed in this session, if any
CONVERSATION_ID = "chat_conversation_id"  # the stored conversation shown, once it has a first message
DELETED = "chat_deleted"  # the conversation shown was deleted in another tab: nothing is saved until restored
SHOWN = "chat_shown"  # how many of the latest messages the page draws
SYSTEM_PROMPT = "chat_system_prompt"
STOP = "chat_stop"
STREAMING = "chat_streaming"  # the container a reply streams into, only while it streams
VIEW_CODE = "chat_view_code"
SHOW_EARLIER = "chat_show_earlier"
REGENERATE = "chat_regenerate"
# Per message index: the Copy and Edit popovers, the edit box and its Resend button.
COPY, EDIT_OPEN, EDIT_TEXT, RESEND = "chat_copy_", "chat_edit_open_", "chat_edit_", "chat_resend_"
# "More parameters": the inputs as the sidebar holds them (text fields are parsed by the page).
STOP_SEQUENCES = "chat_stop_sequences"
SEED = "chat_seed"
RESPONSE_FORMAT = "chat_response_format"
SCHEMA_NAME = "chat_schema_name"
SCHEMA_TEXT = "chat_schema_text"
EXTRA_N = "chat_extra_n"
EXTRA_BEST_OF = "chat_extra_best_of"
EXTRA_LOGPROBS = "chat_extra_logprobs"
EXTRA_IGNORE_EOS = "chat_extra_ignore_eos"
EXTRA_BEAM_SEARCH = "chat_extra_use_beam_search"
EXTRA_STOP_TOKEN_IDS = "chat_extra_stop_token_ids"
EXTRA_SKIP_SPECIAL = "chat_extra_skip_special_tokens"
RAW_EXTRAS = "chat_raw_extras"
# The prompt box (text and attached images), a rejected attachment's message, the detail images are sent with.
PROMPT, ATTACH_ERROR, IMAGE_DETAIL = "chat_prompt", "chat_attach_error", "chat_image_detail"
# The Tools panel: the function drafts (list of {"id", "name", "description", "parameters": text}),
# the next draft id, the choice ("auto" | "none" | "required" | "function:<name>"), parallel calls,
# and canned results ({function name: [text, ...]}).
TOOLS, TOOLS_NEXT_ID, TOOL_CHOICE = "chat_tools", "chat_tools_next_id", "chat_tool_choice"
PARALLEL_TOOLS, CANNED = "chat_parallel_tool_calls", "chat_canned_results"
TOOLS_OPEN, ADD_TOOL = "chat_tools_open", "chat_add_tool"
TOOL_CHOICE_INPUT, PARALLEL_INPUT = "chat_tool_choice_input", "chat_parallel_tool_calls_input"  # their widgets
# Per function draft id: its inputs and Remove button.
TOOL_NAME, TOOL_DESCRIPTION, TOOL_PARAMETERS = "chat_tool_name_", "chat_tool_description_", "chat_tool_parameters_"
TOOL_REMOVE = "chat_tool_remove_"
# Per tool call id: the result box, the canned result picked, Send result, Save as canned.
RESULT_TEXT, RESULT_CANNED, SEND_RESULT, SAVE_CANNED = ("chat_result_", "chat_result_canned_",
                                                        "chat_send_result_", "chat_save_canned_")

# -- the sidebar's history, presets and export/import (Chat) --------------------------------------
HISTORY_SEARCH = "history_search"
UNDO = "history_undo"  # the id of the conversation just deleted
OPEN = "history_open_"  # + conversation id
RENAME, DO_RENAME, DELETE = "history_rename_", "history_do_rename_", "history_delete_"
IMPORT_ROUND = "history_import_round"  # bumped to give the uploader a fresh, empty widget
IMPORT = "history_import_"  # + round
PRESETS_OPEN, PRESET_CHOICE, PRESET_NAME = "presets_open", "presets_choice", "presets_name"
PRESET_DELETED = "presets_deleted"  # the preset just deleted, for Undo
EXPORT_OPEN = "export_open"

# -- Compare ------------------------------------------------------------------------------------
COMPARE = "compare_"  # prefix; parameters are COMPARE + name, per column COMPARE + name + _<index>
COMPARE_HISTORY = "compare_history"  # list[Message]: prompts (column None) and each column's replies
COMPARE_CONVERSATION_ID = "compare_conversation_id"
COMPARE_RUN = "compare_run"  # the CompareRun in progress (or finished and not yet folded in)
COMPARE_COLUMNS = "compare_column_count"
COMPARE_SAME = "compare_same_parameters"
COMPARE_SYSTEM_PROMPT = "compare_system_prompt"
COMPARE_MODEL = "compare_model_"  # + column index
COMPARE_STOP = "compare_stop"
COMPARE_PROMPT = "compare_prompt"
COMPARE_ATTACH_ERROR = "compare_attach_error"
COMPARE_ACCEPTED = "compare_accepted_prompt"  # (text, images) the prompt box took, for this run to send
COMPARE_IMAGE_DETAIL = "compare_image_detail"


def column_key(key: str, index: int) -> str:
    return f"{key}_{index}"

# -- Evaluate -----------------------------------------------------------------------------------
EVAL = "eval_"  # prefix of the Evaluate page's keys
EVAL_TEXT = "eval_text"  # the exact text of the prompt file opened
EVAL_SOURCE = "eval_source"  # where it came from (a file name)
EVAL_PROMPT = "eval_prompt"  # it, parsed: the PromptFile the editor starts from
EVAL_ERROR = "eval_error"  # why the last file could not be opened
EVAL_ROUND = "eval_round"  # bumped on every file opened: the editor's widgets start afresh
EVAL_TEST_ROWS = "eval_test_rows"  # per test-data editor: (the table it was given, its values now)
EVAL_MESSAGE_IDS = "eval_message_ids"  # the editor's messages, as ids (an int < len(messages): the file's own)
EVAL_EVALUATOR_IDS = "eval_evaluator_ids"
EVAL_NEXT_ID = "eval_next_id"
EVAL_UPLOAD = "eval_upload"
EVAL_PICK = "eval_pick"  # a file of PLAYGROUND_PROMPTS_DIR
EVAL_FROM_CHAT = "eval_from_chat"  # a prompt file's text handed over by the Chat page's "Save as prompt file"
EVAL_CHAT_SAVE_OPEN = "eval_chat_save_open"  # the Chat page's "Prompt file" expander
EVAL_MODELS = "eval_models"  # the option keys of the models under test (playground.compare.option_key)
EVAL_JUDGE = "eval_judge"
EVAL_RUN = "eval_run"  # the LiveEvaluation in progress (it outlives a rerun)
EVAL_SHOWN = "eval_shown"  # the finished run shown: (saved id or None, EvalRun, why it stopped or was not saved)
EVAL_START = "eval_start"
EVAL_STOP = "eval_stop"
EVAL_COMPARE_A, EVAL_COMPARE_B = "eval_compare_a", "eval_compare_b"
EVAL_COMPARE_OPEN = "eval_compare_open"  # the "Compare two saved runs" expander
EVAL_SAVED_PICK, EVAL_SAVED_OPEN = "eval_saved_pick", "eval_saved_open"  # the sidebar's saved runs
EVAL_DOWNLOAD_FILE = "eval_download_file"  # the edited .prompt.yml
EVAL_EXPORT_JSON, EVAL_EXPORT_CSV = "eval_export_json", "eval_export_csv"
EVAL_CHAT_TO_EVALUATE, EVAL_CHAT_DOWNLOAD = "eval_chat_to_evaluate", "eval_chat_download"  # on the Chat page


def eval_key(round_: int, name: str) -> str:
    """An editor widget's key for the file opened in round `round_`."""
    return f"{EVAL}{round_}_{name}"
