/**
 * `tokenwire/ai-sdk`: any AI SDK language model as tokenwire's model. Its declarations need
 * `@ai-sdk/provider` (an optional peer, installed with any `@ai-sdk/*` provider); its code
 * loads nothing of the AI SDK, and `tokenwire` itself never imports this entry.
 *
 * @packageDocumentation
 */
export { aiSdkModel, type AiSdkLanguageModel, type AiSdkModelOptions } from './ai-sdk-model.js';
// The model seam's types, as `tokenwire` exports them, so this entry's declarations stand alone.
export type { FinishReason, ModelEvent, ModelMessage, ModelProvider, ModelRequest, ModelSink, ModelToolCall, ModelToolSpec, ProviderData } from '../provider.js';
export type { SimulateOptions, Usage } from '../../../shared/protocol.js';
