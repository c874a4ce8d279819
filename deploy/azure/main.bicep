// Kopitra on Azure: PostgreSQL Flexible Server, Service Bus, the gateway on App Service
// (container), the management API on Functions (Flex Consumption), the console on Static Web
// Apps, Blob Storage for reports, Key Vault, Application Insights, and managed identities
// holding only the roles each part needs.
//
// Why the gateway is not a Function: EAs hold long polls up to 30 s and WebSocket streams;
// the Functions HTTP front end cuts requests at 230 s, has no WebSockets, and a cold start
// would add seconds to the copy path. App Service keeps warm instances with WebSockets on.
targetScope = 'resourceGroup'

@description('Short name used in every resource name (letters and digits).')
@minLength(3)
@maxLength(12)
param name string

@allowed(['dev', 'prod'])
param environment string

param location string = resourceGroup().location

@description('Container image of the gateway, built from the repository Dockerfile.')
param gatewayImage string

@description('PostgreSQL administrator login.')
param postgresAdminLogin string = 'kopitra'

@secure()
@description('PostgreSQL administrator password (kept in Key Vault).')
param postgresAdminPassword string

@secure()
@description('Token signing secret shared by every replica, 32+ characters (kept in Key Vault).')
param kopitraSecret string

@description('First administrator e-mail (the password is printed once in the logs when empty).')
param adminEmail string = ''

@description('PostgreSQL compute: Burstable B1ms for dev, General Purpose for prod.')
param postgresSku object = environment == 'prod'
  ? { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' }
  : { name: 'Standard_B1ms', tier: 'Burstable' }

@description('App Service plan for the gateway.')
param gatewayPlanSku string = environment == 'prod' ? 'P1v3' : 'B1'

@minValue(1)
param gatewayInstances int = environment == 'prod' ? 2 : 1

@description('Most instances the Functions app scales out to.')
param functionsMaxInstances int = environment == 'prod' ? 40 : 10

param tags object = {}

var suffix = uniqueString(resourceGroup().id, name)
var base = toLower('${name}-${environment}')
var allTags = union(tags, { application: 'kopitra', environment: environment })

// Bus topics (packages/contracts bus topics and the server's internal ones) and who reads them.
var topics = [
  { name: 'ea-auth-approvals', subscriptions: ['gateway'] }
  { name: 'trade-agent-events', subscriptions: ['management-audit', 'management-webhooks'] }
  { name: 'copy-group-updates', subscriptions: ['gateway'] }
  // Progress of task runs: the live stream reads it from the database; no broker consumer.
  { name: 'task-events', subscriptions: [] }
]

// Built-in role definitions (ids are the same in every tenant).
var roles = {
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// --- observability ------------------------------------------------------------------------
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${base}-logs'
  location: location
  tags: allTags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: environment == 'prod' ? 90 : 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${base}-insights'
  location: location
  kind: 'web'
  tags: allTags
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

// --- identities ---------------------------------------------------------------------------
resource gatewayIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${base}-gateway-id'
  location: location
  tags: allTags
}

resource managementIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${base}-management-id'
  location: location
  tags: allTags
}

// --- secrets ------------------------------------------------------------------------------
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${name}${environment}kv${suffix}', 24)
  location: location
  tags: allTags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: environment == 'prod' ? 90 : 7
    enablePurgeProtection: environment == 'prod' ? true : null
  }
}

resource databaseUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-url'
  properties: {
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/kopitra?sslmode=require'
  }
}

resource signingSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'kopitra-secret'
  properties: { value: kopitraSecret }
}

// --- database -----------------------------------------------------------------------------
resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${base}-pg-${suffix}'
  location: location
  tags: allTags
  sku: postgresSku
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: { storageSizeGB: environment == 'prod' ? 128 : 32, autoGrow: 'Enabled' }
    backup: {
      backupRetentionDays: environment == 'prod' ? 35 : 7
      geoRedundantBackup: environment == 'prod' ? 'Enabled' : 'Disabled'
    }
    highAvailability: { mode: environment == 'prod' ? 'ZoneRedundant' : 'Disabled' }
    network: { publicNetworkAccess: 'Enabled' }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: 'kopitra'
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
}

// Lets Azure services (App Service, Functions) reach the server; narrow with VNet
// integration and a private endpoint for production networks.
resource postgresAzureAccess 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'allow-azure-services'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

// --- bus ----------------------------------------------------------------------------------
resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${base}-bus-${suffix}'
  location: location
  tags: allTags
  // Standard is the lowest tier with topics, duplicate detection and sessions.
  sku: { name: environment == 'prod' ? 'Premium' : 'Standard', tier: environment == 'prod' ? 'Premium' : 'Standard', capacity: environment == 'prod' ? 1 : null }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource busTopics 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = [
  for t in topics: {
    parent: serviceBus
    name: t.name
    properties: {
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
      defaultMessageTimeToLive: 'P7D'
      supportOrdering: true
    }
  }
]

resource busSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [
  for s in flatten(map(topics, t => map(t.subscriptions, sub => { topic: t.name, name: sub }))): {
    name: '${serviceBus.name}/${s.topic}/${s.name}'
    properties: {
      // Per-account ordering: messages carry the account id as their session id.
      requiresSession: true
      maxDeliveryCount: 10
      lockDuration: 'PT1M'
      deadLetteringOnMessageExpiration: true
      defaultMessageTimeToLive: 'P7D'
    }
    dependsOn: [busTopics]
  }
]

// --- storage: Functions deployment packages, host state and reports --------------------------
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('${toLower(name)}${environment}${suffix}', 24)
  location: location
  tags: allTags
  kind: 'StorageV2'
  sku: { name: environment == 'prod' ? 'Standard_ZRS' : 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'function-releases'
}

resource reportsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'reports'
}

// --- management API: Functions, Flex Consumption ----------------------------------------------
resource functionsPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${base}-functions-plan'
  location: location
  tags: allTags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource functions 'Microsoft.Web/sites@2024-04-01' = {
  name: '${base}-management-${suffix}'
  location: location
  tags: allTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${managementIdentity.id}': {} }
  }
  properties: {
    serverFarmId: functionsPlan.id
    httpsOnly: true
    keyVaultReferenceIdentity: managementIdentity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: managementIdentity.id
          }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: functionsMaxInstances, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '20' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: managementIdentity.properties.clientId }
        { name: 'KOPITRA_SERVICE_BUS__fullyQualifiedNamespace', value: '${serviceBus.name}.servicebus.windows.net' }
        { name: 'KOPITRA_SERVICE_BUS__credential', value: 'managedidentity' }
        { name: 'KOPITRA_SERVICE_BUS__clientId', value: managementIdentity.properties.clientId }
        { name: 'KOPITRA_BUS_URL', value: 'sb://${serviceBus.name}.servicebus.windows.net' }
        { name: 'AZURE_CLIENT_ID', value: managementIdentity.properties.clientId }
        { name: 'KOPITRA_REPORTS_URL', value: '${storage.properties.primaryEndpoints.blob}${reportsContainer.name}' }
        { name: 'DATABASE_URL', value: '@Microsoft.KeyVault(SecretUri=${databaseUrlSecret.properties.secretUri})' }
        { name: 'KOPITRA_SECRET', value: '@Microsoft.KeyVault(SecretUri=${signingSecret.properties.secretUri})' }
        { name: 'KOPITRA_ADMIN_EMAIL', value: adminEmail }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD;ClientId=${managementIdentity.properties.clientId}' }
      ]
      cors: { allowedOrigins: ['https://${console.properties.defaultHostname}'] }
    }
  }
}

// --- gateway: App Service for containers (WebSockets, always on) ------------------------------
resource gatewayPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${base}-gateway-plan'
  location: location
  tags: allTags
  kind: 'linux'
  sku: { name: gatewayPlanSku, capacity: gatewayInstances }
  properties: { reserved: true }
}

resource gateway 'Microsoft.Web/sites@2024-04-01' = {
  name: '${base}-gateway-${suffix}'
  location: location
  tags: allTags
  kind: 'app,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${gatewayIdentity.id}': {} }
  }
  properties: {
    serverFarmId: gatewayPlan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: gatewayIdentity.id
    siteConfig: {
      linuxFxVersion: 'DOCKER|${gatewayImage}'
      appCommandLine: 'gateway'
      alwaysOn: true
      webSocketsEnabled: true
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/trade-agent/v1/health'
      appSettings: [
        { name: 'WEBSITES_PORT', value: '8080' }
        { name: 'PORT', value: '8080' }
        { name: 'KOPITRA_TRUST_PROXY', value: 'true' }
        { name: 'KOPITRA_BUS_URL', value: 'sb://${serviceBus.name}.servicebus.windows.net' }
        { name: 'AZURE_CLIENT_ID', value: gatewayIdentity.properties.clientId }
        { name: 'DATABASE_URL', value: '@Microsoft.KeyVault(SecretUri=${databaseUrlSecret.properties.secretUri})' }
        { name: 'KOPITRA_SECRET', value: '@Microsoft.KeyVault(SecretUri=${signingSecret.properties.secretUri})' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD;ClientId=${gatewayIdentity.properties.clientId}' }
      ]
    }
  }
}

// --- console: Static Web Apps ---------------------------------------------------------------
resource console 'Microsoft.Web/staticSites@2024-04-01' = {
  name: '${base}-console'
  // Static Web Apps exist in a few regions only; the content is served globally.
  location: 'westeurope'
  tags: allTags
  sku: { name: environment == 'prod' ? 'Standard' : 'Free', tier: environment == 'prod' ? 'Standard' : 'Free' }
  properties: {}
}

// --- role assignments: each identity gets only what its plane uses ------------------------
// Gateway: publishes trade-agent-events, reads approvals and group updates.
resource gatewayBusSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, gatewayIdentity.id, roles.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: gatewayIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource gatewayBusReceive 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, gatewayIdentity.id, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: gatewayIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource managementBusSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, managementIdentity.id, roles.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource managementBusReceive 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, managementIdentity.id, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Functions host state and deployment package: the Functions runtime needs owner on blobs
// of its own storage account (there is no narrower built-in role for the host).
resource managementHostStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, managementIdentity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Reports (KOPITRA_REPORTS_URL): read and write exports in the reports container, and ask for
// the user delegation key that signs their short-lived SAS download links (an account-level action).
resource managementReportLinks 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, managementIdentity.id, roles.storageBlobDelegator)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource managementReports 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(reportsContainer.id, managementIdentity.id, roles.storageBlobDataContributor)
  scope: reportsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource gatewaySecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, gatewayIdentity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: gatewayIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource managementSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, managementIdentity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource gatewayTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, gatewayIdentity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: gatewayIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource managementTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, managementIdentity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: managementIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output gatewayUrl string = 'https://${gateway.properties.defaultHostName}'
output managementUrl string = 'https://${functions.properties.defaultHostName}'
output consoleUrl string = 'https://${console.properties.defaultHostname}'
output consoleName string = console.name
output functionsName string = functions.name
output serviceBusNamespace string = serviceBus.name
output keyVaultName string = vault.name
output reportsContainerUrl string = '${storage.properties.primaryEndpoints.blob}${reportsContainer.name}'
