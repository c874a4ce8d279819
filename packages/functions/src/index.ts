/** Azure Functions entry (Node v4 programming model): registers the triggers. */
import { app } from '@azure/functions';
import { httpHandler, periodicHandler, tradeAgentEventsHandler } from './handlers.js';

app.http('api', {
  route: '{*path}',
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  authLevel: 'anonymous',
  handler: httpHandler,
});
app.serviceBusTopic('tradeAgentEvents', {
  connection: 'KOPITRA_SERVICE_BUS',
  topicName: 'trade-agent-events',
  subscriptionName: 'management',
  handler: tradeAgentEventsHandler,
});
app.timer('periodic', { schedule: '*/30 * * * * *', handler: periodicHandler });
