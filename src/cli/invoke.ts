import { runUseCase, type UseCaseName, type UseCaseOptions, type UseCaseResult } from '../app/use-cases.js';
import type { CommandContext } from './command.js';

/**
 * Runs a use case here, or through the bake service when one is named: the same typed options
 * go in and the same typed result comes back, so commands render both alike.
 */
export async function invoke<N extends UseCaseName>(ctx: CommandContext, name: N, options: UseCaseOptions<N>): Promise<UseCaseResult<N>> {
  if (ctx.serviceUrl) {
    const { callService } = await import('../service/client.js');
    return callService(ctx, ctx.serviceUrl, name, options);
  }
  return runUseCase(ctx, name, options);
}
