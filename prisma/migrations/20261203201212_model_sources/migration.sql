-- CreateTable
CREATE TABLE "ModelSource" (
    "id" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdByKeyId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelSource_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ModelSource_teamId_prefix_key" ON "ModelSource"("teamId", "prefix");

-- AddForeignKey
ALTER TABLE "ModelSource" ADD CONSTRAINT "ModelSource_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;
