-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "preemptions" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "queueKey" TEXT;

-- CreateTable
CREATE TABLE "JobOutbox" (
    "seq" BIGSERIAL NOT NULL,
    "jobId" TEXT NOT NULL,
    "entries" JSONB NOT NULL,
    "tries" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobOutbox_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE INDEX "JobOutbox_jobId_idx" ON "JobOutbox"("jobId");

-- AddForeignKey
ALTER TABLE "JobOutbox" ADD CONSTRAINT "JobOutbox_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;
